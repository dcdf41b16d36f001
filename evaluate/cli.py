"""``python -m septimbre.evaluate``: transcription metrics, speed benchmark, peer set-up, result comparison.

Commands::

    python -m septimbre.evaluate setup-peers [--peers basic-pitch,harmonica] [--force]
    python -m septimbre.evaluate transcription [--sets trios,trios-stems,trios-nopiano,synthetic-val,unseen]
        [--peers basic-pitch,harmonica] [--no-ours] [--trios DIR] [--synthetic DIR] [--unseen DIR]
        [--limit N] [--model X.onnx] [--out results.json]
    python -m septimbre.evaluate benchmark [FILES ...] [--threads 1 2] [--peers basic-pitch]
        [--no-ours] [--model X.onnx] [--out bench.json]
    python -m septimbre.evaluate long-file --minutes 30 --out long30.flac
    python -m septimbre.evaluate decoder-stages [--model X.onnx] [--trios DIR]
    python -m septimbre.evaluate lost-notes [--sets trios,trios-stems,...] [--model X.onnx] [--trios DIR]
        [--synthetic DIR] [--unseen DIR] [--limit N]
    python -m septimbre.evaluate partials [--trios DIR] [--soundfonts TimGM6mb,sf_GMbank,...]
    python -m septimbre.evaluate masking --piece lussier --part bassoon --masker piano [--gains=0,-6,-12]
        [--swap [--render-programs 70,0] [--part-tilt -12 [--tilt-limit 20]] [--transplant]] [--audibility]
        [--model X.onnx] [--trios DIR]
    python -m septimbre.evaluate compare BASE.json CAND.json [--metric note_f1] [--system septimbre] [--parts]
        [--resamples 5000] [--seed 0] [--ship-rule]
    python -m septimbre.evaluate posterior-average A.onnx B.onnx [...] [--sets trios,trios-nopiano]
        [--trios DIR] [--synthetic DIR] [--unseen DIR] [--limit N]
    python -m septimbre.evaluate threshold-bound [--sets trios] [--model X.onnx] [--onsets 0.05,0.1]
        [--frames 0.3,0.4] [--trios DIR] [--synthetic DIR] [--unseen DIR] [--limit N]

Exit status: 0 when every requested system ran, 1 when one failed (its row says why), 2 on a
usage or set-up error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from septimbre.data.soundfonts import SOUNDFONTS
from septimbre.evaluate.references import SET_NAMES, default_trios_dir
from septimbre.evaluate.systems import OURS, PEERS
from septimbre.utils.errors import SeptimbreError


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _csv_of(convert, what: str):
    """argparse type: a comma-separated list, each item converted by ``convert`` (``what`` names them)."""

    def parse(value: str) -> list:
        try:
            return [convert(x) for x in _csv(value)]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {value!r}") from exc

    return parse


def _names_from(known, what: str):
    """argparse type: a comma-separated list of names, each one of ``known``."""

    def parse(value: str) -> list[str]:
        names = _csv(value)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {what}(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return names

    return parse


_peer_list = _names_from(PEERS, "peer")
_set_list = _names_from(SET_NAMES, "set")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m septimbre.evaluate", description="Transcription metrics, speed benchmark and peer set-up for septimbre.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    # Where the named evaluation sets live: shared by every command that takes --sets.
    set_folders = argparse.ArgumentParser(add_help=False)
    set_folders.add_argument("--trios", type=Path, default=None, help="TRIOS folder (default: $SEPTIMBRE_TRIOS or "
                             "shared/data/trios beside the checkout)")
    set_folders.add_argument("--synthetic", type=Path, default=None, help="rendered synthetic validation set")
    set_folders.add_argument("--unseen", type=Path, default=None, help="rendered set with the held-out soundfont")
    set_folders.add_argument("--limit", type=int, default=None, help="at most N examples per synthetic set")

    setup = sub.add_parser("setup-peers", parents=[common], help="create the peers' virtualenvs (idempotent)")
    setup.add_argument("--peers", type=_peer_list, default=list(PEERS))
    setup.add_argument("--force", action="store_true", help="reinstall even if already set up")

    tr = sub.add_parser("transcription", parents=[common, set_folders], help="note/frame P/R/F1 of septimbre and peers")
    tr.add_argument("--sets", type=_set_list, default=None,
                    help="comma-separated; default: trios plus the synthetic sets given a folder")
    tr.add_argument("--peers", type=_peer_list, default=list(PEERS),
                    help=f"comma-separated, '' for none (default: {','.join(PEERS)})")
    tr.add_argument("--no-ours", action="store_true", help="leave septimbre out (peers only)")
    tr.add_argument("--model", type=Path, default=None,
                    help="septimbre: this .onnx (thresholds from the .json beside it) instead of the shipped one")
    tr.add_argument("--out", type=Path, default=None, help="write all counts and scores as JSON")

    bench = sub.add_parser("benchmark", parents=[common], help="real-time factor, peak RSS, model sizes")
    bench.add_argument("files", nargs="*", type=Path, help="audio files (default: the TRIOS mixes)")
    bench.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    bench.add_argument("--peers", type=_peer_list, default=["basic-pitch"],
                       help="comma-separated, '' for none (default: basic-pitch)")
    bench.add_argument("--no-ours", action="store_true")
    bench.add_argument("--model", type=Path, default=None, help="septimbre: this .onnx instead of the shipped one")
    bench.add_argument("--trios", type=Path, default=None)
    bench.add_argument("--repeats", type=int, default=5,
                       help="timed passes over the files per measurement; the median per file counts (default 5)")
    bench.add_argument("--out", type=Path, default=None, help="write the figures as JSON")

    long_file = sub.add_parser("long-file", parents=[common],
                               help="write a long noise + tones recording (memory checks), block by block")
    long_file.add_argument("--minutes", type=float, default=30.0)
    long_file.add_argument("--seed", type=int, default=0)
    long_file.add_argument("--out", type=Path, required=True, help="output .flac or .wav")

    stages = sub.add_parser("decoder-stages", parents=[common],
                            help="TRIOS: notes from onset peaks vs onset-less recovery, onset errors")
    stages.add_argument("--model", type=Path, default=None, help="this .onnx instead of the shipped one")
    stages.add_argument("--trios", type=Path, default=None)

    lost = sub.add_parser("lost-notes", parents=[common, set_folders],
                          help="each missed reference note by cause (unison, re-attack, late, model)")
    lost.add_argument("--model", type=Path, default=None, help="this .onnx instead of the shipped one")
    lost.add_argument("--sets", type=_set_list, default=["trios"],
                      help="comma-separated (default: trios); TRIOS sets list each part, the others their total")

    partials = sub.add_parser("partials", parents=[common],
                              help="TRIOS parts: partial levels re the fundamental, recorded vs soundfont renders")
    partials.add_argument("--trios", type=Path, default=None)
    partials.add_argument("--soundfonts", type=_names_from(tuple(SOUNDFONTS), "soundfont"), default=list(SOUNDFONTS),
                          help=f"comma-separated soundfont keys (default: {','.join(SOUNDFONTS)})")
    partials.add_argument("--n-partials", type=int, default=5)

    masking = sub.add_parser("masking", parents=[common],
                             help="TRIOS: a part's notes found as another part is turned down (masking curve)")
    masking.add_argument("--piece", required=True, help="TRIOS piece folder name (e.g. lussier)")
    masking.add_argument("--part", required=True, help="the part whose notes are counted (e.g. bassoon)")
    masking.add_argument("--masker", required=True, help="the part whose gain changes (e.g. piano)")
    masking.add_argument("--gains", type=_csv_of(float, "numbers"), default=None,
                         help="comma-separated masker gains in dB (default 0,-6,-12,-18,-24,-36)")
    masking.add_argument("--swap", action="store_true",
                         help="instead of the curve: render the part and the masker from their MIDI with the "
                              "training soundfonts and count recorded vs rendered pairings (swap table)")
    masking.add_argument("--render-programs", type=_csv_of(int, "integers"), default=None, metavar="PART,MASKER",
                         help="GM programs of the renders (implies --swap; default: each instrument's nearest "
                              "GM program)")
    masking.add_argument("--part-tilt", type=float, default=0.0, metavar="DB_PER_OCTAVE",
                         help="with the swap table: tilt the rendered part with the data engine's EQ (negative "
                              "darkens), as a training split's draw would")
    masking.add_argument("--tilt-limit", type=float, default=None, metavar="DB",
                         help="clip of --part-tilt, dB (default: the data engine's, 12)")
    masking.add_argument("--transplant", action="store_true",
                         help="with the swap table: also swap the spectro-temporal envelope between the recorded "
                              "part and its renders (1/3 and 1/12 octave bands) and count again")
    masking.add_argument("--audibility", action="store_true",
                         help="instead of the curve: how far the part's partials stand over the masker's sound in "
                              "their own bins, for notes found in the two-part mix, lost there, and lost alone")
    masking.add_argument("--model", type=Path, default=None, help="this .onnx instead of the shipped one")
    masking.add_argument("--trios", type=Path, default=None)

    compare = sub.add_parser("compare", parents=[common],
                             help="two transcription results files: paired bootstrap per set, optional ship rule")
    compare.add_argument("base", type=Path, help="results JSON of the base (e.g. the shipped model)")
    compare.add_argument("cand", type=Path, help="results JSON of the candidate, scored on the same pieces")
    compare.add_argument("--metric", default="note_f1", help="per-piece field to compare (default note_f1)")
    compare.add_argument("--system", default=OURS, help=f"system whose rows are compared (default {OURS})")
    compare.add_argument("--resamples", type=int, default=5000, help="bootstrap resamples (default 5000)")
    compare.add_argument("--seed", type=int, default=0, help="resampling seed (default 0)")
    compare.add_argument("--parts", action="store_true",
                         help="also print the notes found per instrument part (TRIOS sets), base vs candidate")
    compare.add_argument("--ship-rule", action="store_true",
                         help="also apply the ship rule of docs/basicamt.md to the note F1 means")

    average = sub.add_parser("posterior-average", parents=[common, set_folders],
                             help="diagnostic: note F1 of several models' averaged posteriors (an ensemble bound)")
    average.add_argument("models", nargs="+", type=Path,
                         help="two or more .onnx files; the first one's .json gives the thresholds")
    average.add_argument("--sets", type=_set_list, default=["trios", "trios-nopiano"],
                         help="comma-separated (default: trios,trios-nopiano)")

    bound = sub.add_parser("threshold-bound", parents=[common, set_folders],
                           help="diagnostic: note F1 over a grid of thresholds, best per set and per piece "
                                "(an upper bound; thresholds are never chosen here)")
    bound.add_argument("--model", type=Path, default=None, help="this .onnx instead of the shipped one")
    bound.add_argument("--sets", type=_set_list, default=["trios"], help="comma-separated (default: trios)")
    bound.add_argument("--onsets", type=_csv_of(float, "numbers"), default=None,
                       help="onset-threshold grid (default 0.03 ... 0.3; the shipped value is always added)")
    bound.add_argument("--frames", type=_csv_of(float, "numbers"), default=None,
                       help="frame-threshold grid (default 0.2 ... 0.5; the shipped value is always added)")
    return parser


def _set_pieces(args, name: str, tmp: str) -> list:
    """The pieces of set ``name`` from the command's set folders (``set_pieces``; audio it must
    write goes to ``tmp``)."""
    from septimbre.evaluate.references import set_pieces

    return set_pieces(name, Path(tmp), trios_dir=args.trios or default_trios_dir(), synthetic_dir=args.synthetic,
                      unseen_dir=args.unseen, limit=args.limit)


def _posterior_average(args) -> int:
    import tempfile

    from septimbre.evaluate.posterior_average import format_average, posterior_average

    with tempfile.TemporaryDirectory(prefix="septimbre-average-") as tmp:
        pieces = (piece for name in args.sets for piece in _set_pieces(args, name, tmp))
        rows = posterior_average(pieces, args.models)  # loads the models once, then reads the sets
    print(f"note F1 per piece; every row decoded with {args.models[0].with_suffix('.json')}'s thresholds")
    print(format_average(rows, args.models))
    return 0


def _threshold_bound(args) -> int:
    import tempfile

    from septimbre.evaluate import threshold_bound as T

    grid_kw = {"onset_grid": args.onsets or T.DEFAULT_ONSET_GRID, "frame_grid": args.frames or T.DEFAULT_FRAME_GRID}
    with tempfile.TemporaryDirectory(prefix="septimbre-bound-") as tmp:
        pieces = (piece for name in args.sets for piece in _set_pieces(args, name, tmp))
        grids, onsets, frames, settings = T.threshold_grids(pieces, args.model, **grid_kw)
    print(f"note F1 (mean per set) over {len(onsets)} onset x {len(frames)} frame thresholds, min note "
          f"{settings['min_note_ms']:g} ms; the best columns are chosen on the set itself: bounds, not choices")
    print(T.format_bound(T.summarise(grids, onsets, frames, settings), grids, onsets, frames))
    return 0


def _compare(args) -> int:
    from septimbre.evaluate.compare import (
        format_comparison, format_part_recall, format_ship_rule, load_results, paired_bootstrap, part_recall, ship_rule,
    )

    base, cand = load_results(args.base), load_results(args.cand)
    rows = paired_bootstrap(base, cand, system=args.system, metric=args.metric, resamples=args.resamples,
                            seed=args.seed)
    if not rows:
        raise SeptimbreError(f"{args.base} and {args.cand} share no scored piece of {args.system}")
    print(f"{args.cand} minus {args.base}: mean paired difference per set, 95 % bootstrap interval "
          f"({args.resamples} resamples of the pieces, seed {args.seed})")
    print(format_comparison(rows, metric=args.metric))
    if args.parts:
        parts = part_recall(base, cand, system=args.system)
        print()
        print(format_part_recall(parts) if parts else "no set of both files has notes found per part (TRIOS sets only)")
    if args.ship_rule:
        print()
        print(format_ship_rule(ship_rule(base, cand, system=args.system)))
    return 0


def _partials(args) -> int:
    from septimbre.data.trios import load_trios
    from septimbre.evaluate.partials import format_partials, partial_balance

    rows = partial_balance(load_trios(args.trios or default_trios_dir()), args.soundfonts, n_partials=args.n_partials)
    print(f"median level of partials 2..{args.n_partials} relative to the fundamental (dB), per TRIOS part")
    print(format_partials(rows))
    return 0


def _decoder_stages(args) -> int:
    from septimbre.evaluate.references import trios_pieces
    from septimbre.evaluate.stages import decoder_stages, format_stages

    print(format_stages(decoder_stages(trios_pieces(args.trios or default_trios_dir()), args.model)))
    return 0


def _lost_notes(args) -> int:
    import tempfile

    from septimbre.evaluate.lost_notes import format_lost, lost_notes

    for name in args.sets:
        with tempfile.TemporaryDirectory(prefix="septimbre-lost-") as tmp:
            rows = lost_notes(_set_pieces(args, name, tmp), args.model)
        print(f"{name}: missed reference notes by cause")
        print(format_lost(rows, detail=name.startswith("trios")))
    return 0


def _masking(args) -> int:
    from septimbre.evaluate.masking import (
        DEFAULT_GAINS_DB, format_audibility, format_masking, format_swap, format_transplant, swap_table,
        transplant_table, trios_audibility, trios_masking_curve, trios_pair,
    )

    root = args.trios or default_trios_dir()
    if args.audibility:
        groups = trios_audibility(root, args.piece, args.part, args.masker, model=args.model)
        print(format_audibility(groups, part=args.part, masker=args.masker))
        return 0
    if args.swap or args.render_programs is not None or args.transplant or args.part_tilt:
        if args.render_programs is not None and len(args.render_programs) != 2:
            raise SeptimbreError("--render-programs takes two GM programs: the part's and the masker's")
        programs = None if args.render_programs is None else tuple(args.render_programs)
        pair = trios_pair(root, args.piece, args.part, args.masker, programs, model=args.model,
                          part_tilt=(args.part_tilt, args.tilt_limit))
        rows = swap_table(*pair)
        if args.part_tilt:
            limit = "the data engine's 12" if args.tilt_limit is None else f"{args.tilt_limit:g}"
            print(f"rendered {args.part} tilted {args.part_tilt:+g} dB per octave around 1 kHz (clipped at {limit} dB)")
        print(format_swap(rows, part=args.part, masker=args.masker))
        if args.transplant:
            print(format_transplant(transplant_table(*pair), part=args.part, masker=args.masker))
        return 0
    points = trios_masking_curve(root, args.piece, args.part, args.masker,
                                 model=args.model, gains_db=args.gains or DEFAULT_GAINS_DB)
    print(format_masking(points, part=args.part, masker=args.masker))
    return 0


def _long_file(args) -> int:
    from septimbre.evaluate.long_audio import write_long_file

    path = write_long_file(args.out, minutes=args.minutes, seed=args.seed, progress=True)
    print(f"wrote {path} ({args.minutes:g} min)")
    return 0


def _setup_peers(args) -> int:
    from septimbre.evaluate.systems import setup_peer

    for name in args.peers:
        python = setup_peer(name, force=args.force)
        print(f"{name}: ready ({python})")
    return 0


def _transcription(args) -> int:
    from septimbre.evaluate.transcription import (
        evaluate_sets, format_context_recall, format_part_recall, format_polyphony, format_table,
    )

    trios_dir = args.trios or default_trios_dir()
    sets = args.sets
    if sets is None:
        sets = (["trios"] if args.trios or trios_dir.is_dir() else []) + [
            n for n, d in (("synthetic-val", args.synthetic), ("unseen", args.unseen)) if d
        ]
        if not sets:
            raise SeptimbreError(f"no set to evaluate: no TRIOS folder at {trios_dir}; pass --trios, "
                                 "--synthetic or --unseen")
    systems = ([] if args.no_ours else [OURS]) + args.peers
    if not systems:
        raise SeptimbreError("no system to evaluate")
    results = evaluate_sets(
        sets, systems, trios_dir=trios_dir,
        synthetic_dir=args.synthetic, unseen_dir=args.unseen, limit=args.limit, ours_model=args.model,
    )
    print(format_table(results))
    by_part = format_part_recall(results)
    if by_part:
        print("\nNote recall by instrument (reference notes of each instrument found in the merged transcription):")
        print(by_part)
    by_count = format_polyphony(results)
    if by_count:
        print("\nNote precision / recall by number of instruments in the mix (pooled):")
        print(by_count)
    by_context = format_context_recall(results)
    if by_context:
        print("\nNote recall by what starts with each note (within 50 ms; pooled), and of re-attacked pitches:")
        print(by_context)
    if args.out:
        args.out.write_text(json.dumps({r.name: r.to_dict() for r in results}, indent=1))
        print(f"wrote {args.out}")
    return 1 if any(r.failures for r in results) else 0


def _benchmark(args) -> int:
    from septimbre.evaluate.benchmark import format_bench_table, model_sizes, run_benchmark

    files = list(args.files)
    if not files:
        root = args.trios or default_trios_dir()
        files = sorted(root.glob("*/mix.flac"))
        if not files:
            raise SeptimbreError(f"no files given and no TRIOS mixes in {root}")
    rows = run_benchmark(files, threads=args.threads, peers=args.peers, include_ours=not args.no_ours,
                         ours_model=args.model, repeats=args.repeats)
    sizes = model_sizes(args.model.parent if args.model else None)
    print(format_bench_table(rows, sizes))
    if args.out:
        doc = {"files": [str(f) for f in files], "rows": [asdict(r) | {"rtf": r.rtf, "cpu_rtf": r.cpu_rtf} for r in rows], "sizes": sizes}
        args.out.write_text(json.dumps(doc, indent=1))
        print(f"wrote {args.out}")
    return 1 if any(r.error for r in rows) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    handlers = {"setup-peers": _setup_peers, "transcription": _transcription, "benchmark": _benchmark,
                "long-file": _long_file, "decoder-stages": _decoder_stages, "lost-notes": _lost_notes, "partials": _partials,
                "compare": _compare, "posterior-average": _posterior_average, "masking": _masking,
                "threshold-bound": _threshold_bound}
    try:
        return handlers[args.command](args)
    except SeptimbreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
