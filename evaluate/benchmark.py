"""Speed and size benchmark: real-time factor, peak memory, model bytes and parameters.

For each system and thread count one fresh subprocess loads the model once, transcribes the first
file once untimed (warm-up), then times every file in process, file -> notes (-> tracks for
septimbre, which runs with its default ``separate=True``), ``repeats`` passes over the files
(default 5 from the command line); per file the median pass counts, because single passes on a
shared VM vary by 10-30 %. Reported per process:

- **RTF** (real-time factor) = total processing seconds / total audio seconds (lower is faster);
- **CPU RTF** = the process's CPU seconds (user + system, all threads) / audio seconds: with one
  thread it stays close to the RTF of an idle machine when other work shares the cores;
- **peak RSS** = the process's ``resource.getrusage`` ``ru_maxrss`` (whole process lifetime:
  imports, model, every file), which is why each measurement gets its own process;
- **load** = model loading seconds (not in the RTF).

Sizes come from the shipped files: ONNX bytes from ``septimbre/weights/*.onnx`` and parameter
counts from the JSON written beside them. These are measurements, not tests: nothing here asserts
a speed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from septimbre.evaluate.systems import OURS, SystemFailed, SystemRun, run_system
from septimbre.evaluate.table import align_columns
from septimbre.utils.errors import ParameterError

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class BenchRow:
    """One measurement: a system at a thread count (``error`` set when it could not run)."""

    system: str
    threads: int
    audio_s: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    load_s: float = 0.0
    maxrss_bytes: int = 0
    error: str | None = None

    @property
    def rtf(self) -> float:
        """Processing time / audio time."""
        return self.seconds / self.audio_s if self.audio_s else float("nan")

    @property
    def cpu_rtf(self) -> float:
        """CPU time (all threads) / audio time: less sensitive than RTF to other load on the machine."""
        return self.cpu_seconds / self.audio_s if self.audio_s else float("nan")

    @classmethod
    def from_run(cls, run: SystemRun, *, name: str | None = None) -> BenchRow:
        return cls(
            system=name or run.system, threads=run.threads,
            audio_s=sum(f.audio_s for f in run.files), seconds=sum(f.seconds for f in run.files),
            cpu_seconds=sum(f.cpu_seconds for f in run.files),
            load_s=run.load_s, maxrss_bytes=run.maxrss_bytes,
        )


def _find_param_count(doc: Any) -> int | None:
    """First integer value under a key naming a parameter count, searched depth-first."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            k = key.lower()
            if isinstance(value, int) and not isinstance(value, bool) and "param" in k and (
                "count" in k or k.startswith(("n_", "num")) or k in ("parameters", "params")
            ):
                return value
        for value in doc.values():
            found = _find_param_count(value)
            if found is not None:
                return found
    return None


def weights_dir() -> Path:
    """The package's shipped-weights folder."""
    import septimbre

    return Path(septimbre.__file__).resolve().parent / "weights"


def model_sizes(folder: Path | None = None) -> list[dict[str, Any]]:
    """Per shipped model stem: ONNX bytes and the parameter count its JSON records (or None)."""
    rows = []
    for onnx in sorted(Path(folder or weights_dir()).glob("*.onnx")):
        meta = onnx.with_suffix(".json")
        params = _find_param_count(json.loads(meta.read_text())) if meta.is_file() else None
        rows.append({"model": onnx.stem, "onnx_bytes": onnx.stat().st_size, "parameters": params})
    return rows


def run_benchmark(
    files: Sequence[str | Path], *, threads: Sequence[int] = (1, 2), peers: Sequence[str] = ("basic-pitch",),
    include_ours: bool = True, ours_model: str | Path | None = None, repeats: int = 1,
) -> list[BenchRow]:
    """Time every system at every thread count on ``files`` (one subprocess per measurement).

    Each subprocess makes ``repeats`` timed passes over the files; per file the median time counts.

    septimbre runs its whole pipeline (``separate=True``) with the shipped model, or ``ours_model``.
    """
    if not files:
        raise ParameterError("no files to benchmark")
    if repeats < 1:
        raise ParameterError(f"repeats must be >= 1; got {repeats}")
    if any(t < 1 for t in threads):
        raise ParameterError(f"thread counts must be >= 1; got {list(threads)}")
    systems = ([OURS] if include_ours else []) + list(peers)
    rows = []
    for system in systems:
        for t in threads:
            try:
                extra = ["--model", str(ours_model)] if system == OURS and ours_model is not None else []
                extra += ["--repeats", str(repeats)]
                run = run_system(system, files, threads=t, warmup=True, extra_args=extra)
            except SystemFailed as exc:
                logger.error("%s", exc)
                rows.append(BenchRow(system=system, threads=t, error=str(exc)))
                continue
            rows.append(BenchRow.from_run(run, name=system))
    return rows


def format_bench_table(rows: Sequence[BenchRow], sizes: Sequence[dict[str, Any]] = ()) -> str:
    """Plain-text tables: timing rows, then model sizes."""
    header = ["system", "threads", "audio s", "time s", "RTF", "CPU RTF", "peak RSS MB", "load s"]
    body = []
    for r in rows:
        if r.error:
            body.append([r.system, str(r.threads), f"FAILED: {r.error}"])
        else:
            body.append([r.system, str(r.threads), f"{r.audio_s:.1f}", f"{r.seconds:.2f}", f"{r.rtf:.4f}", f"{r.cpu_rtf:.4f}",
                         f"{r.maxrss_bytes / 2**20:.0f}", f"{r.load_s:.2f}"])
    lines = [align_columns([header] + body)]
    if sizes:
        size_rows = [["model", "ONNX bytes", "parameters"]] + [
            [s["model"], str(s["onnx_bytes"]), "?" if s["parameters"] is None else str(s["parameters"])]
            for s in sizes
        ]
        lines.append(align_columns(size_rows))
    return "\n\n".join(lines)
