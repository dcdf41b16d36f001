"""Command line: ``septimbre transcribe | info | export-onnx`` (also ``python -m septimbre``).

Exit codes: 0 success, 1 a septimbre error (bad file, missing model, ...), 2 bad command line.
Errors are one line on stderr naming the file and the problem; no tracebacks for user errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

from septimbre import __version__
from septimbre.utils.errors import ParameterError, SeptimbreError

FORMATS: tuple[str, ...] = ("mid", "csv", "json", "png")
PROG = "septimbre"


def _err(msg: str) -> None:
    print(f"{PROG}: error: {msg}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Lightweight music transcription: audio -> notes (MIDI, CSV, JSON, piano roll).")
    parser.add_argument("--version", action="version", version=f"septimbre {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("transcribe", help="transcribe audio files or folders",
                       description="Transcribe audio files (wav, flac, ogg, mp3; any rate/channels; any length) "
                       "or folders of them.")
    t.add_argument("audio", nargs="+", help="audio files and/or folders (their audio files; see -r)")
    t.add_argument("-r", "--recursive", action="store_true",
                   help="also take the audio files in a folder's subfolders (hidden ones skipped)")
    t.add_argument("-o", "--output", default=".",
                   help="output folder (created), or an output file (.mid, .csv, .json, .png) when transcribing "
                   "one input to one format (default: current folder)")
    t.add_argument("-f", "--format", action="append", choices=FORMATS,
                   help="output format; repeat for several (default: the -o file's, else mid)")
    t.add_argument("--instruments", type=int, metavar="K",
                   help="number of instrument tracks (only 1 until timbre separation ships)")
    t.add_argument("--no-separate", action="store_true", help="one track for all notes")
    t.add_argument("--onset-threshold", type=float, metavar="P", help="onset threshold in [0, 1] (default: model's)")
    t.add_argument("--frame-threshold", type=float, metavar="P", help="frame threshold in [0, 1] (default: model's)")
    t.add_argument("--min-note-ms", type=float, metavar="MS", help="shortest note kept, ms (default: model's)")
    t.add_argument("--threads", type=int, default=2, help="onnxruntime threads (default 2)")
    t.add_argument("--model", help="model name or .onnx path (default: bundled basicamt)")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summary lines")

    i = sub.add_parser("info", help="show the bundled models: versions, sizes, parameters, thresholds")
    i.add_argument("--model", help="also describe this .onnx (its .json next to it)")
    i.add_argument("--json", action="store_true", help="print JSON")

    sub.add_parser("export-onnx", add_help=False,
                   help="export a trained model to ONNX (see `septimbre export-onnx --help`)")
    return parser


# ---------------------------------------------------------------------------------------- transcribe
def _folder_audio(folder: Path, recursive: bool) -> list[Path]:
    """The audio files in ``folder`` (and, if ``recursive``, its subfolders), sorted by path; files
    and subfolders whose names start with a dot are skipped."""
    from septimbre.utils.audio import AUDIO_SUFFIXES

    if recursive:  # hidden subfolders are pruned, not walked; symlinked folders are not followed
        candidates = []
        for root, subfolders, names in os.walk(folder):
            subfolders[:] = [d for d in subfolders if not d.startswith(".")]
            candidates.extend(Path(root) / n for n in names)
    else:
        candidates = list(folder.iterdir())
    return sorted(q for q in candidates
                  if not q.name.startswith(".") and q.is_file() and q.suffix.lower() in AUDIO_SUFFIXES)


def _collect(inputs: list[str], recursive: bool = False) -> list[Path]:
    from septimbre.utils.audio import AUDIO_SUFFIXES
    from septimbre.utils.errors import AudioLoadError

    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = _folder_audio(p, recursive)
            if not found:
                where = "folder or its subfolders hold" if recursive else "folder holds"
                raise AudioLoadError(f"{p}: {where} no audio files ({', '.join(AUDIO_SUFFIXES)})"
                                     + ("" if recursive else "; -r also searches subfolders"))
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise AudioLoadError(f"{p}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for f in files:  # a file named twice is transcribed once
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _output_names(files: list[Path]) -> list[Path]:
    """A distinct output name (relative, no format suffix) per distinct input file: its stem; where
    stems collide, stem + audio suffix (``a.wav`` / ``a.flac``); where names still collide (one name
    in several folders), under as many of its parent folders as tell them apart (``x/a.wav``)."""

    def name(f: Path, level: int) -> Path:
        if level == 0:
            return Path(f.stem)
        folders = f.resolve().parent.parts[1:]  # without the root, so the name stays relative
        tail = folders[max(0, len(folders) - (level - 1)):] if level > 1 else ()
        return Path(*tail, f"{f.stem}.{f.suffix.lstrip('.')}")

    levels = [0] * len(files)
    names = [name(f, 0) for f in files]
    while True:
        count = Counter(names)
        clash = [i for i, n in enumerate(names) if count[n] > 1]
        if not clash:
            return names
        for i in clash:
            levels[i] += 1
            names[i] = name(files[i], levels[i])


def _file_format(output: Path) -> str | None:
    """The output format an ``-o`` path names by its suffix (``.midi`` is ``mid``), else None."""
    suffix = output.suffix.lower().lstrip(".")
    suffix = "mid" if suffix == "midi" else suffix
    return suffix if suffix in FORMATS else None


def _targets(files: list[Path], output: Path, formats: list[str]) -> list[dict[str, Path]]:
    """Output path per input file and format."""
    named = None if output.is_dir() else _file_format(output)
    if named is not None:
        if len(files) == 1 and formats == [named]:
            return [{named: output}]
        if len(files) > 1:
            raise ParameterError(f"{output}: names one .{named} file, but {len(files)} inputs write several "
                                 "files: give an output folder (-o FOLDER)")
        raise ParameterError(f"{output}: names a .{named} file, but -f asks for {', '.join(formats)}: "
                             f"give a file of that format or an output folder (-o FOLDER)")
    if output.exists() and not output.is_dir():
        raise ParameterError(f"{output}: exists and is not a folder (several outputs need a folder)")
    return [{fmt: output / f"{n}.{fmt}" for fmt in formats} for n in _output_names(files)]


def _cmd_transcribe(args: argparse.Namespace) -> int:
    from septimbre.inference import check_instruments, check_thresholds

    formats = list(dict.fromkeys(args.format or [_file_format(Path(args.output)) or "mid"]))
    try:
        check_instruments(args.instruments, not args.no_separate)
        check_thresholds(args.onset_threshold, args.frame_threshold, args.min_note_ms)
        if args.threads < 1:
            raise ParameterError(f"--threads must be >= 1; got {args.threads}")
        if "png" in formats:
            from septimbre.utils.errors import require

            require("matplotlib", "plot")
        files = _collect(args.audio, args.recursive)
        targets = _targets(files, Path(args.output), formats)
    except SeptimbreError as exc:
        _err(str(exc))
        return 1

    try:
        from septimbre.inference import Transcriber

        transcriber = Transcriber(args.model, threads=args.threads)
    except SeptimbreError as exc:
        _err(str(exc))
        return 1

    from tqdm import tqdm

    failed = 0
    show = not args.quiet
    bar = tqdm(total=len(files), unit="file", desc="transcribing", disable=not show or len(files) < 2)
    for f, outs in zip(files, targets):
        try:
            result = transcriber.transcribe(
                f, instruments=args.instruments, separate=not args.no_separate,
                onset_threshold=args.onset_threshold, frame_threshold=args.frame_threshold,
                min_note_ms=args.min_note_ms, progress=show)
            for fmt, path in outs.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                {"mid": result.to_midi, "csv": result.to_csv, "json": result.to_json, "png": result.plot}[fmt](path)
            if show:
                bar.write(f"{f}: {len(result.notes)} notes, {result.duration_s:.1f} s -> "
                          + ", ".join(str(p) for p in outs.values()))
        except SeptimbreError as exc:
            failed += 1
            bar.clear()
            _err(str(exc) if str(f) in str(exc) else f"{f}: {exc}")
        except OSError as exc:  # writing the outputs
            failed += 1
            _err(f"{f}: cannot write output ({exc})")
        bar.update(1)
    bar.close()
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------- info
def _describe(onnx_path: Path) -> dict:
    import hashlib

    desc: dict = {"name": onnx_path.stem, "onnx": str(onnx_path)}
    if onnx_path.is_file():
        data = onnx_path.read_bytes()
        desc["onnx_bytes"] = len(data)
        desc["onnx_sha256"] = hashlib.sha256(data).hexdigest()[:16]
        try:
            import onnxruntime as ort

            meta = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).get_modelmeta()
            desc["onnx_metadata"] = dict(meta.custom_metadata_map)
            if meta.producer_name:
                desc["producer"] = meta.producer_name
        except Exception as exc:  # noqa: BLE001  (a broken file: say so, keep going)
            desc["onnx_error"] = str(exc).splitlines()[0]
    else:
        desc["onnx_bytes"] = None
    cfg_path = onnx_path.with_suffix(".json")
    if cfg_path.is_file():
        cfg = json.loads(cfg_path.read_text())
        from septimbre.inference import DECODER_OPTION_KEYS, THRESHOLD_KEYS

        for key in ("version", "class", "n_parameters", *THRESHOLD_KEYS, *DECODER_OPTION_KEYS):
            if key in cfg:
                desc[key] = cfg[key]
        for key in ("training", "provenance"):
            if isinstance(cfg.get(key), dict):
                desc[key] = {k: v for k, v in cfg[key].items() if isinstance(v, (str, int, float, bool))}
    pt = onnx_path.with_suffix(".pt")
    if pt.is_file():
        desc["pt_bytes"] = pt.stat().st_size
    return desc


def _cmd_info(args: argparse.Namespace) -> int:
    from septimbre.inference import DECODER_OPTION_KEYS, DEFAULT_MODEL, THRESHOLD_KEYS, WEIGHTS_DIR

    default = WEIGHTS_DIR / f"{DEFAULT_MODEL}.onnx"  # listed first, installed or not
    paths = [default] + sorted(p for p in WEIGHTS_DIR.glob("*.onnx") if p.stem != DEFAULT_MODEL)
    if args.model:
        mp = Path(args.model)
        if not mp.is_file():
            _err(f"{mp}: no such model file")
            return 1
        paths.append(mp)
    import onnxruntime

    models = [_describe(p) for p in paths]
    report = {"septimbre": __version__, "onnxruntime": onnxruntime.__version__, "weights_dir": str(WEIGHTS_DIR),
              "models": models}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"septimbre {__version__} (onnxruntime {onnxruntime.__version__}); weights in {WEIGHTS_DIR}")
    for m in models:
        if m.get("onnx_bytes") is None:
            print(f"- {m['name']}: not installed ({m['onnx']} missing; build it with `septimbre export-onnx`)")
            continue
        print(f"- {m['name']}: {m['onnx']}")
        version = m.get("version") or m.get("onnx_metadata", {}).get("weights") or "unversioned"
        print(f"    version {version}; sha256 {m['onnx_sha256']}; ONNX {m['onnx_bytes']:,} bytes"
              + (f"; .pt {m['pt_bytes']:,} bytes" if "pt_bytes" in m else ""))
        print(f"    parameters: {m['n_parameters']:,}" if "n_parameters" in m else "    parameters: unknown (no .json)")
        th = [f"{k}={m[k]}" for k in THRESHOLD_KEYS if k in m]
        print("    default thresholds: " + (", ".join(th) if th else "none shipped (decoder defaults apply)"))
        opts = [f"{k}={m[k]}" for k in DECODER_OPTION_KEYS if k in m]
        if opts:
            print("    decoder options: " + ", ".join(opts))
        if "onnx_error" in m:
            print(f"    cannot load: {m['onnx_error']}")
    return 0


# ---------------------------------------------------------------------------------------- main
def _cmd_export(rest: list[str]) -> int:
    try:
        from septimbre.export.onnx_export import main as export_main
    except ImportError as exc:
        _err(f"export-onnx needs the training extra (torch, onnx): pip install 'septimbre[train]' ({exc})")
        return 1
    return int(export_main(rest) or 0)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``septimbre`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export-onnx":
        return _cmd_export(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s: %(message)s")
    if args.command == "transcribe":
        return _cmd_transcribe(args)
    if args.command == "info":
        return _cmd_info(args)
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
