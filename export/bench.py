"""Speed of an exported graph in onnxruntime (CPU) and where its time goes.

Command::

    python -m septimbre.export.bench MODEL.onnx [--seconds 60] [--threads 1 2] [--repeats 3] [--profile]

prints JSON: per thread count, seconds of compute per minute of audio and the real-time factor
(compute time / audio time, model only: no decoding, no file I/O), after one warm-up run; with
``--profile``, onnxruntime's per-op-type time shares on one thread. The browser figure (wasm, one
thread) comes from ``node tests/node/check_onnx.mjs MODEL.onnx --bench``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from septimbre.export.contract import INPUT_NAME
from septimbre.utils.constants import EXPORT_SAMPLE_RATE


@dataclass(frozen=True)
class Timing:
    """Model-only speed at one thread count.

    Attributes
    ----------
    threads : int
        onnxruntime intra-op threads.
    audio_s : float
        Length of the timed input, seconds.
    runs_s : tuple of float
        Wall time of each timed run, seconds (after one warm-up).
    cpu_s : tuple of float
        Process CPU time of each run, seconds (all threads). On one thread it is close to the
        wall time of an otherwise idle machine: the figure to trust when other jobs share the cores.
    rtf : float
        Median run time / audio time.
    s_per_min : float
        Median seconds of compute per minute of audio (= 60 * rtf).
    """

    threads: int
    audio_s: float
    runs_s: tuple
    cpu_s: tuple
    rtf: float
    s_per_min: float


def test_signal(seconds: float, *, seed: int = 0) -> np.ndarray:
    """[1, 1, T] float32 at EXPORT_SAMPLE_RATE: harmonic tones plus faint noise (cost does not depend on it)."""
    n = round(seconds * EXPORT_SAMPLE_RATE)
    t = np.arange(n) / EXPORT_SAMPLE_RATE
    rng = np.random.default_rng(seed)
    x = 0.01 * rng.standard_normal(n)
    for k, f0 in enumerate((110.0, 220.0, 330.0, 440.0)):
        x += 0.1 * np.sin(2 * np.pi * f0 * t + k) * (np.sin(2 * np.pi * 0.5 * t + k) > 0)
    return x.astype(np.float32).reshape(1, 1, n)


def time_onnx(path: str | Path, *, seconds: float = 60.0, threads: int = 1, repeats: int = 3) -> Timing:
    """Time ``repeats`` runs of the graph on ``seconds`` of audio with ``threads`` intra-op threads."""
    from septimbre.export.parity import onnx_session

    session = onnx_session(path, threads=threads)
    audio = test_signal(seconds)
    session.run(None, {INPUT_NAME: audio[..., : min(audio.shape[-1], 10 * EXPORT_SAMPLE_RATE)]})
    runs, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        session.run(None, {INPUT_NAME: audio})
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    med = statistics.median(runs)
    return Timing(
        threads=threads,
        audio_s=seconds,
        runs_s=tuple(runs),
        cpu_s=tuple(cpu),
        rtf=med / seconds,
        s_per_min=60 * med / seconds,
    )


def profile_ops(path: str | Path, *, seconds: float = 20.0, threads: int = 1, top: int = 10) -> dict:
    """onnxruntime profile of one run: time share per op type and the ``top`` slowest nodes."""
    import onnxruntime as ort

    audio = test_signal(seconds)
    with tempfile.TemporaryDirectory() as tmp:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.enable_profiling = True
        opts.profile_file_prefix = os.path.join(tmp, "profile")
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        session.run(None, {INPUT_NAME: audio[..., :EXPORT_SAMPLE_RATE]})  # warm-up
        session.run(None, {INPUT_NAME: audio})
        events = json.loads(Path(session.end_profiling()).read_text())
    by_type: dict = collections.Counter()
    by_node: dict = collections.Counter()
    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    last_run_start = runs[-1]["ts"] if runs else 0
    for e in events:
        if (
            e.get("cat") != "Node"
            or not e.get("name", "").endswith("_kernel_time")
            or e["ts"] < last_run_start
        ):
            continue
        op = e.get("args", {}).get("op_name", "?")
        by_type[op] += e["dur"]
        by_node[f"{op}:{e['name'][: -len('_kernel_time')]}"] += e["dur"]
    total = sum(by_type.values()) or 1
    return {
        "audio_s": seconds,
        "threads": threads,
        "kernel_ms": total / 1000,
        "share_by_op": {k: round(v / total, 4) for k, v in by_type.most_common()},
        "slowest_nodes_ms": {k: round(v / 1000, 2) for k, v in by_node.most_common(top)},
    }


def main(argv: list[str] | None = None) -> int:
    """CLI: print timings (and optionally a profile) of an ONNX file as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m septimbre.export.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("model", help=".onnx file")
    parser.add_argument("--seconds", type=float, default=60.0, help="audio length per run (default 60)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default 1 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per thread count")
    parser.add_argument("--profile", action="store_true", help="also print per-op time shares (one thread)")
    args = parser.parse_args(argv)
    out: dict = {"model": args.model, "load_avg_1min": os.getloadavg()[0]}
    out["timings"] = [
        asdict(time_onnx(args.model, seconds=args.seconds, threads=t, repeats=args.repeats))
        for t in args.threads
    ]
    if args.profile:
        out["profile"] = profile_ops(args.model, seconds=min(args.seconds, 20.0))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
