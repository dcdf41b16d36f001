"""Torch dataset over a rendered split (``python -m septimbre.data build``).

Each item is a random crop of one example, aligned to a hop boundary, so that audio sample
``k * HOP_LENGTH`` of the crop sits at roll frame ``k`` of the crop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from septimbre.data.build import example_path, read_manifest
from septimbre.data.config import MAX_INSTRUMENTS
from septimbre.data.corpus import is_held_out
from septimbre.data.targets import ONSET, SUSTAIN
from septimbre.utils.constants import HOP_LENGTH, N_PITCHES, SAMPLE_RATE
from septimbre.utils.errors import ParameterError, require

torch = require("torch", "train")
log = logging.getLogger(__name__)

#: Default crop length, seconds (rounded to whole hops).
DEFAULT_CLIP_SECONDS = 4.0


class RenderedDataset(torch.utils.data.Dataset):
    """Random aligned crops of a rendered split.

    Parameters
    ----------
    root : path or sequence of paths
        Folder written by the build command (manifest.jsonl + examples/), or several such folders
        served as one split (their examples in the order given; each keeps its own folder).
    clip_seconds : float
        Crop length; ``clip_samples = round(clip_seconds * SAMPLE_RATE / HOP_LENGTH) * HOP_LENGTH``.
        Examples shorter than a crop are zero-padded (silent targets).
    seed : int
        Crops of item ``i`` in epoch ``e`` come from ``default_rng([seed, e, i])``.
    max_instruments : int
        ``stem_rolls`` and ``programs`` are padded to this many instruments so that batches stack.
    return_stems : bool
        Also return the per-instrument audio ``stems`` float32 (max_instruments, clip_samples).

    Items are dicts of tensors:
    ``audio`` float32 (clip_samples,); ``onset`` and ``frame`` float32 (N_PITCHES, clip_frames)
    (merged over instruments; frame = sustain or onset); ``stem_rolls`` uint8
    (max_instruments, N_PITCHES, clip_frames) with 0/1/2 per instrument, zero rows for padding;
    ``programs`` int64 (max_instruments,) with -1 for padding; ``n_instruments`` int64 scalar;
    ``index`` int64 scalar (example index).
    """

    def __init__(
        self,
        root: str | Path | Sequence[str | Path],
        *,
        clip_seconds: float = DEFAULT_CLIP_SECONDS,
        seed: int = 0,
        max_instruments: int = MAX_INSTRUMENTS,
        return_stems: bool = False,
    ) -> None:
        roots = [Path(root)] if isinstance(root, (str, Path)) else [Path(r) for r in root]
        if not roots:
            raise ParameterError("no split folder given")
        if len(set(r.resolve() for r in roots)) < len(roots):
            raise ParameterError(f"a split folder is given twice: {', '.join(map(str, roots))}")
        self.roots = tuple(roots)
        self.records: list[dict] = []
        self._record_roots: list[Path] = []
        for folder in self.roots:
            records = read_manifest(folder)
            # Safety net for splits built by older code: never serve held-out score material.
            kept = [r for r in records if not (r.get("score") and is_held_out(r["score"]))]
            if len(kept) < len(records):
                log.warning("%s: skipped %d example(s) made from held-out chorale melodies", folder,
                            len(records) - len(kept))
            self.records += kept
            self._record_roots += [folder] * len(kept)
        if not self.records:
            raise ParameterError(f"{', '.join(map(str, self.roots))} holds no examples")
        self.clip_frames = max(1, int(round(clip_seconds * SAMPLE_RATE / HOP_LENGTH)))
        self.clip_samples = self.clip_frames * HOP_LENGTH
        self.seed = int(seed)
        self.max_instruments = int(max_instruments)
        self.return_stems = bool(return_stems)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select a new set of crops (call once per epoch, also in DataLoader workers via the sampler)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.records)

    def load(self, i: int, keys: tuple[str, ...] = ("mix", "stems", "rolls", "programs")) -> dict[str, np.ndarray]:
        """The full arrays ``keys`` of example ``i`` (default: mix, stems, rolls, programs) as numpy."""
        with np.load(example_path(self._record_roots[i], self.records[i]["index"])) as z:
            return {k: z[k] for k in keys}

    def crop_start(self, i: int, n_frames_total: int) -> int:
        """First frame of the crop of item ``i`` in the current epoch."""
        rng = np.random.default_rng([self.seed, self.epoch, int(i)])
        return int(rng.integers(0, max(0, n_frames_total - self.clip_frames) + 1))

    def __getitem__(self, i: int) -> dict:
        # The stems (2.6x the mix on average) are read only when asked for: this is the training hot path.
        ex = self.load(i, ("mix", "rolls", "programs", "stems") if self.return_stems else ("mix", "rolls", "programs"))
        rolls = ex["rolls"]
        n_inst, _, frames = rolls.shape
        f0 = self.crop_start(i, frames)
        s0 = f0 * HOP_LENGTH
        audio = np.zeros(self.clip_samples, np.float32)
        seg = ex["mix"][s0 : s0 + self.clip_samples].astype(np.float32)
        audio[: seg.shape[0]] = seg
        stem_rolls = np.zeros((self.max_instruments, N_PITCHES, self.clip_frames), np.uint8)
        part = rolls[: self.max_instruments, :, f0 : f0 + self.clip_frames]
        stem_rolls[: part.shape[0], :, : part.shape[2]] = part
        programs = np.full(self.max_instruments, -1, np.int64)
        programs[: min(n_inst, self.max_instruments)] = ex["programs"][: self.max_instruments]
        item = {
            "audio": torch.from_numpy(audio),
            "onset": torch.from_numpy((stem_rolls == ONSET).any(axis=0).astype(np.float32)),
            "frame": torch.from_numpy((stem_rolls >= SUSTAIN).any(axis=0).astype(np.float32)),
            "stem_rolls": torch.from_numpy(stem_rolls),
            "programs": torch.from_numpy(programs),
            "n_instruments": torch.tensor(min(n_inst, self.max_instruments), dtype=torch.int64),
            "index": torch.tensor(int(self.records[i]["index"]), dtype=torch.int64),
        }
        if self.return_stems:
            stems = np.zeros((self.max_instruments, self.clip_samples), np.float32)
            seg = ex["stems"][: self.max_instruments, s0 : s0 + self.clip_samples].astype(np.float32)
            stems[: seg.shape[0], : seg.shape[1]] = seg
            item["stems"] = torch.from_numpy(stems)
        return item
