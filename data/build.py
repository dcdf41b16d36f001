"""Build a rendered dataset split on disk.

Layout of ``out``::

    manifest.jsonl          one JSON record per example, in index order (see example.Example.meta)
    config.json             the split config used
    examples/NNNNNN.npz     mix float16 (samples,), stems float16 (n_inst, samples),
                            rolls uint8 (n_inst, N_PITCHES, frames), programs int16 (n_inst,)

The number of examples is the smallest count whose durations reach the requested hours. A build
can be resumed: examples already in the manifest are kept. A split can be extended into a
hard-linked copy (``cp -al small big``, then a longer build into ``big``): the copy's manifest is
rewritten as a file of its own before anything is appended, so ``small`` is left as it was. Work
is spread over ``workers`` processes; each example is a pure function of (config, index), so the
output does not depend on the number of workers.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from septimbre.data.config import DataConfig
from septimbre.data.example import example_duration, make_example
from septimbre.utils.errors import ParameterError

log = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
EXAMPLES_DIR = "examples"


def example_path(root: str | Path, index: int) -> Path:
    """File of example ``index`` under a dataset root."""
    return Path(root) / EXAMPLES_DIR / f"{int(index):06d}.npz"


def plan(config: DataConfig, *, hours: float, start: int = 0) -> list[int]:
    """Example indices ``start, start+1, ...`` whose total duration first reaches ``hours``."""
    if hours <= 0:
        raise ParameterError("hours must be positive")
    if start < 0:
        raise ParameterError(f"start must be an example index >= 0; got {start}")
    total, idx, out = 0.0, start, []
    while total < hours * 3600.0:
        out.append(idx)
        total += example_duration(config, idx)
        idx += 1
    return out


def write_example(root: str | Path, ex) -> Path:
    """Write one example atomically; returns its path."""
    path = example_path(root, ex.meta["index"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
    # Uncompressed: zlib saved only ~20 % of the bytes (float16 audio barely compresses) and
    # cost ~25 % of the build time.
    np.savez(
        tmp,
        mix=ex.mix.astype(np.float16),
        stems=ex.stems.astype(np.float16),
        rolls=ex.rolls.astype(np.uint8),
        programs=ex.programs.astype(np.int16),
    )
    os.replace(tmp, path)
    return path


_worker_config: DataConfig | None = None
_worker_root: Path | None = None


def _init_worker(config_dict: dict, root: str) -> None:
    global _worker_config, _worker_root
    _worker_config = DataConfig(**config_dict)
    _worker_root = Path(root)
    logging.getLogger("septimbre").setLevel(logging.WARNING)


def _work(index: int) -> tuple[dict, float]:
    t0 = time.process_time()
    ex = make_example(_worker_config, index)
    path = write_example(_worker_root, ex)
    meta = dict(ex.meta)
    meta["file"] = str(path.relative_to(_worker_root))
    meta["index"] = int(index)
    return meta, time.process_time() - t0


@dataclass(frozen=True)
class BuildResult:
    """What a build produced: examples written now, examples already present, seconds of audio
    written, and CPU seconds the workers spent on them (rendering + writing, all processes)."""

    written: int
    skipped: int
    audio_s: float
    cpu_s: float = 0.0


def build(
    config: DataConfig,
    out: str | Path,
    *,
    hours: float,
    workers: int = 2,
    start: int = 0,
    progress: bool = True,
) -> BuildResult:
    """Render ``hours`` of audio of ``config`` into ``out`` (resumable). See module docstring."""
    out = Path(out)
    planned = plan(config, hours=hours, start=start)  # checks hours and start before anything is written
    out.mkdir(parents=True, exist_ok=True)
    (out / EXAMPLES_DIR).mkdir(exist_ok=True)
    cfg_file = out / "config.json"
    cfg_dict = config.to_dict()
    if cfg_file.exists():
        # Through DataConfig, so a default added after the cache was built fills in as it did then.
        old = DataConfig(**json.loads(cfg_file.read_text())).to_dict()
        if json.loads(json.dumps(old)) != json.loads(json.dumps(cfg_dict)):
            raise ParameterError(f"{out} was built with a different config; use another --out")
    else:
        cfg_file.write_text(json.dumps(cfg_dict, indent=1))
    manifest = out / MANIFEST
    done: set[int] = set()
    if manifest.exists():
        lines = manifest.read_text().splitlines()
        good = []
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a torn last line from an interrupted build
            if example_path(out, rec["index"]).exists():
                done.add(int(rec["index"]))
                good.append(line)
        # A fresh file, renamed over the old one: a split copied with hard links (cp -al, to extend
        # it) then gets a manifest of its own, and the appends below never reach the original's.
        fresh = manifest.with_name(manifest.name + ".tmp")
        fresh.write_text("".join(g + "\n" for g in good))
        os.replace(fresh, manifest)
    todo = [i for i in planned if i not in done]
    audio_s = cpu_s = 0.0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="ex", desc=f"build {config.name}", smoothing=0.05)
    with manifest.open("a") as fh:
        if workers <= 1:
            _init_worker(cfg_dict, str(out))
            results = map(_work, todo)
            pool = None
        else:
            import multiprocessing as mp

            pool = mp.get_context("spawn").Pool(
                workers, initializer=_init_worker, initargs=(cfg_dict, str(out))
            )
            results = pool.imap(_work, todo, chunksize=1)
        try:
            for meta, cpu in results:
                fh.write(json.dumps(meta) + "\n")
                fh.flush()
                audio_s += meta["duration_s"]
                cpu_s += cpu
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(hours=f"{audio_s / 3600:.2f}")
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
            if bar is not None:
                bar.close()
    return BuildResult(written=len(todo), skipped=len(done), audio_s=audio_s, cpu_s=cpu_s)


def read_manifest(root: str | Path) -> list[dict]:
    """Records of a built dataset, in index order."""
    path = Path(root) / MANIFEST
    if not path.exists():
        raise ParameterError(f"no {MANIFEST} in {root}")
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return sorted(recs, key=lambda r: r["index"])
