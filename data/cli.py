"""Command line of the data engine: ``python -m septimbre.data {build,summary,render-example,...}``."""

from __future__ import annotations

import argparse
import collections
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from septimbre.utils.errors import SeptimbreError


def _cmd_build(args) -> int:
    from septimbre.data.build import build
    from septimbre.data.config import DataConfig

    config = DataConfig.from_json(args.config)
    t0 = time.time()
    res = build(
        config,
        args.out,
        hours=args.hours,
        workers=args.workers,
        start=args.start,
        progress=not args.no_progress,
    )
    wall = time.time() - t0
    rate = res.audio_s / 3600.0 / (wall / 3600.0) if wall > 0 else float("nan")
    per_core = res.audio_s / res.cpu_s if res.cpu_s > 0 else float("nan")
    print(
        f"wrote {res.written} examples ({res.audio_s / 3600:.3f} h audio) to {args.out} in {wall:.1f} s "
        f"({rate:.1f} h audio per wall-clock hour); {res.skipped} already present"
    )
    print(
        f"worker CPU time {res.cpu_s:.1f} s: {per_core:.1f} h audio per CPU-hour "
        f"(so about {per_core * args.workers:.0f} h/h on {args.workers} idle cores)"
    )
    return 0


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _cmd_summary(args) -> int:
    from septimbre.data.build import read_manifest
    from septimbre.data.programs import GM_PROGRAMS

    root = Path(args.dir)
    recs = read_manifest(root)
    hours = sum(r["duration_s"] for r in recs) / 3600.0
    size = _dir_bytes(root)
    print(
        f"{root}: {len(recs)} examples, {hours:.3f} h audio, {size / 1e9:.3f} GB "
        f"({size / 1e9 / max(hours, 1e-9):.3f} GB per hour)"
    )
    n_inst = collections.Counter(r["n_instruments"] for r in recs)
    print("instruments per example:", dict(sorted(n_inst.items())))
    src = collections.Counter(r["source"] for r in recs)
    print("material:", dict(src))
    scores = collections.Counter(r["score"].split("/")[0] for r in recs if r.get("score"))
    if scores:
        print("score collections:", dict(scores.most_common()))
    sf = collections.Counter(s for r in recs for s in r["soundfonts"])
    print("stems per soundfont:", dict(sf.most_common()))
    n_synth = sum(sum(r.get("synthesized", ())) for r in recs)
    if n_synth:
        print(f"stems played by drawn source-filter instruments: {n_synth} of {sum(sf.values())}")
    fam = collections.Counter(GM_PROGRAMS[p].family for r in recs for p in r["programs"])
    print("stems per family:", dict(fam.most_common()))
    progs = collections.Counter(p for r in recs for p in r["programs"])
    print("stems per program:")
    for p, c in sorted(progs.items()):
        print(f"  {p:3d} {GM_PROGRAMS[p].name:28s} {c}")
    notes = [m["n_notes"] / r["duration_s"] for r in recs for m in r["instruments"]]
    if notes:
        print(f"notes per second per stem: mean {np.mean(notes):.2f}, median {np.median(notes):.2f}")
    rev = sum(r["room"]["reverb"] for r in recs)
    noi = sum(r["room"]["noise"] for r in recs)
    print(f"reverb on {rev}/{len(recs)}, noise on {noi}/{len(recs)}")
    return 0


def _cmd_render_example(args) -> int:
    import soundfile as sf
    from septimbre.data.build import example_path, read_manifest
    from septimbre.data.plot import plot_rolls
    from septimbre.utils.constants import SAMPLE_RATE

    recs = {r["index"]: r for r in read_manifest(args.dir)}
    if args.index not in recs:
        print(f"no example {args.index} in {args.dir}", file=sys.stderr)
        return 2
    rec = recs[args.index]
    with np.load(example_path(args.dir, args.index)) as z:
        mix, rolls, programs = z["mix"].astype(np.float32), z["rolls"], z["programs"]
    prefix = Path(args.out)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(prefix) + ".wav", mix, SAMPLE_RATE)
    title = f"{args.dir} #{args.index}: {rec['source']} {rec.get('score') or ''} | " + ", ".join(
        f"{m['name']} ({'synth' if m.get('synthesized') else m['soundfont']})" for m in rec["instruments"]
    )
    plot_rolls(rolls, programs, str(prefix) + ".png", mix=mix, title=title)
    print(json.dumps(rec, indent=1))
    print(f"wrote {prefix}.wav and {prefix}.png")
    return 0


def _cmd_held_out(args) -> int:
    from septimbre.data.corpus import find_same_melody

    found = find_same_melody(args.collection, progress=True)
    print(json.dumps(found, indent=1))
    return 0


def _cmd_audit(args) -> int:
    from septimbre.data.audit import audit_program
    from septimbre.data.config import DataConfig

    config = DataConfig.from_json(args.config)
    bad = 0
    for key, spec in sorted(config.soundfonts.items()):
        for prog in spec["programs"]:
            checks = audit_program(key, prog)
            if checks is None or not all(c.ok for c in checks):
                bad += 1
                print(
                    f"{key} program {prog}: "
                    + (
                        "missing preset"
                        if checks is None
                        else ", ".join(f"{c.pitch}:{c.level_db}dB/{c.harmonic_share:.2f}" for c in checks)
                    )
                )
    print(f"{bad} program(s) with a failing note")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m septimbre.data``."""
    import signal

    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `summary | head` ends quietly
    ap = argparse.ArgumentParser(prog="python -m septimbre.data", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="render a dataset split")
    b.add_argument("--config", required=True, help="split config JSON (or name: train, val, unseen)")
    b.add_argument("--hours", type=float, required=True, help="hours of audio to render")
    b.add_argument("--out", required=True, help="output folder")
    b.add_argument("--workers", type=int, default=2, help="parallel processes (default 2)")
    b.add_argument("--start", type=int, default=0, help="first example index (default 0)")
    b.add_argument("--no-progress", action="store_true")
    s = sub.add_parser("summary", help="print statistics of a built split")
    s.add_argument("dir")
    r = sub.add_parser("render-example", help="write PREFIX.wav and PREFIX.png of one example")
    r.add_argument("dir")
    r.add_argument("index", type=int)
    r.add_argument("--out", required=True, help="output prefix")
    h = sub.add_parser("find-held-out-melodies", help="list corpus files harmonising held-out melodies")
    h.add_argument("--collection", default="bach")
    a = sub.add_parser(
        "audit-soundfonts", help="render each configured program at its range ends and check it"
    )
    a.add_argument("--config", required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler = {
        "build": _cmd_build,
        "summary": _cmd_summary,
        "render-example": _cmd_render_example,
        "find-held-out-melodies": _cmd_held_out,
        "audit-soundfonts": _cmd_audit,
    }[args.cmd]
    try:
        return handler(args)
    except SeptimbreError as exc:  # a bad config, folder or value: one line, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
