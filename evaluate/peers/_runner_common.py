"""Shared driver of the transcriber runners (standard library + numpy + soundfile only).

Each runner script in this folder runs inside one system's own environment (a peer's virtualenv,
or septimbre's Python) and is started by ``septimbre.evaluate`` as a subprocess::

    PYTHON RUNNER.py --out notes.json [--threads N] [--warmup] [--repeats R] AUDIO [AUDIO ...]

It loads the model once, optionally transcribes the first file once untimed (warm-up), then
transcribes every file ``R`` times (``R`` passes over the list, default 1), timing each one in
process (file -> notes; ``seconds`` and ``cpu_seconds`` are the medians over the passes, so one
disturbed pass on a shared machine does not set the figure), and writes one JSON document:
``{"system", "version", "threads", "load_s", "warmup_s", "maxrss_bytes",
"files": [{"path", "audio_s", "seconds", "cpu_seconds", "notes": [[start_s, end_s, midi_pitch], ...]}]}``
(``seconds`` wall-clock, ``cpu_seconds`` this process's user + system CPU time, all threads).
``maxrss_bytes`` is this process's peak resident set size (see :func:`peak_rss_bytes`), so one
subprocess per measurement keeps it honest. Library output is sent to stderr: stdout stays clean.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any


def peak_rss_bytes() -> int:
    """Peak resident set size of this process, bytes.

    On Linux this is ``VmHWM`` from ``/proc/self/status``: ``getrusage``'s ``ru_maxrss`` survives
    ``exec`` and so starts at the *parent's* size when the process was forked (a runner started
    from a 130 MB evaluator would report at least 130 MB). Elsewhere, ``ru_maxrss`` (kilobytes on
    Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024


def audio_seconds(path: str) -> float:
    import soundfile

    info = soundfile.info(path)
    return info.frames / float(info.samplerate)


def _clean(notes: Iterable[Any]) -> list[list[float]]:
    return [[float(s), float(e), round(float(p))] for s, e, p in notes]


def main(
    system: str,
    version: str,
    load: Callable[[argparse.Namespace], Any],
    transcribe: Callable[[Any, str], Iterable[Any]],
    argv: list[str] | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Parse the command line, run ``transcribe(load(args), path)`` per file, write the JSON.

    ``load`` reads ``args.threads`` (0: the library's default) and any option ``add_arguments``
    added; ``transcribe`` returns ``(start_s, end_s, midi_pitch)`` triples.
    """
    parser = argparse.ArgumentParser(description=f"Transcribe audio files with {system}.")
    parser.add_argument("audio", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=0, help="0: the library's default")
    parser.add_argument("--warmup", action="store_true", help="transcribe the first file once untimed")
    parser.add_argument("--repeats", type=int, default=1, help="timed passes over the files (median kept)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1; got {args.repeats}")

    with contextlib.redirect_stdout(sys.stderr):
        began = time.perf_counter()
        model = load(args)
        load_s = time.perf_counter() - began
        warmup_s = None
        if args.warmup:
            began = time.perf_counter()
            list(transcribe(model, args.audio[0]))
            warmup_s = time.perf_counter() - began
        timings: dict[str, list[tuple[float, float]]] = {path: [] for path in args.audio}
        last_notes: dict[str, list[list[float]]] = {}
        for _ in range(args.repeats):
            for path in args.audio:
                began, cpu_began = time.perf_counter(), time.process_time()
                last_notes[path] = _clean(transcribe(model, path))
                timings[path].append((time.perf_counter() - began, time.process_time() - cpu_began))
                print(f"{system}: {os.path.basename(path)} {timings[path][-1][0]:.2f} s, "
                      f"{len(last_notes[path])} notes", file=sys.stderr)
        files = []
        for path in args.audio:
            files.append({"path": path, "audio_s": audio_seconds(path),
                          "seconds": statistics.median(t for t, _ in timings[path]),
                          "cpu_seconds": statistics.median(c for _, c in timings[path]),
                          "passes": len(timings[path]), "notes": last_notes[path]})
    doc = {
        "system": system,
        "version": version,
        "threads": args.threads,
        "load_s": load_s,
        "warmup_s": warmup_s,
        "maxrss_bytes": peak_rss_bytes(),
        "files": files,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f)
    return 0
