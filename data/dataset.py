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
from septimbre.data.remix import DEFAULT_REMIX_GAIN_DB, Crop, check_remix_settings, remix
from septimbre.data.targets import ONSET, SUSTAIN
from septimbre.utils.constants import HOP_LENGTH, N_PITCHES, SAMPLE_RATE
from septimbre.utils.errors import ParameterError, require

torch = require("torch", "train")
log = logging.getLogger(__name__)

#: Default crop length, seconds (rounded to whole hops).
DEFAULT_CLIP_SECONDS = 4.0
#: Extra entry of an item's random-stream key for its remix draws (independent of its crop).
REMIX_STREAM = 7919


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
    remix_prob : float
        Chance (per item and epoch) that an item is a remix of its crop's stems with those of a
        random other example's crop (:mod:`septimbre.data.remix`); 0 (the default) serves every
        example as rendered. Draws come from ``default_rng([seed, epoch, i, REMIX_STREAM])``.
    remix_gain_db : (float, float)
        Per-stem level change of a remix, dB.

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
        remix_prob: float = 0.0,
        remix_gain_db: tuple[float, float] = DEFAULT_REMIX_GAIN_DB,
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
        self.remix_prob, self.remix_gain_db = check_remix_settings(remix_prob, remix_gain_db)
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

    def crop(self, i: int, *, with_stems: bool, start_frame: int | None = None) -> Crop:
        """Aligned crop of example ``i`` (numpy arrays, all instruments), zero-padded to the clip length.

        ``start_frame`` defaults to :meth:`crop_start` (this epoch's crop); without ``with_stems``
        the crop's ``stems`` are None (not read).
        """
        keys = ("mix", "rolls", "programs", "stems") if with_stems else ("mix", "rolls", "programs")
        ex = self.load(i, keys)
        rolls = ex["rolls"]
        n_inst, _, frames = rolls.shape
        f0 = self.crop_start(i, frames) if start_frame is None else int(start_frame)
        s0 = f0 * HOP_LENGTH
        mix = np.zeros(self.clip_samples, np.float32)
        seg = ex["mix"][s0 : s0 + self.clip_samples].astype(np.float32)
        mix[: seg.shape[0]] = seg
        crop_rolls = np.zeros((n_inst, N_PITCHES, self.clip_frames), np.uint8)
        part = rolls[:, :, f0 : f0 + self.clip_frames]
        crop_rolls[:, :, : part.shape[2]] = part
        programs = np.asarray(ex["programs"], np.int64)
        stems = None
        if with_stems:
            stems = np.zeros((n_inst, self.clip_samples), np.float32)
            seg = ex["stems"][:, s0 : s0 + self.clip_samples].astype(np.float32)
            stems[:, : seg.shape[1]] = seg
        return Crop(mix=mix, stems=stems, rolls=crop_rolls, programs=programs)

    def _remix_draw(self, i: int) -> tuple[tuple[int, int], np.random.Generator] | None:
        """Item ``i``'s partner ``(j, start_frame)`` this epoch and its remix stream, positioned for
        :func:`~septimbre.data.remix.remix`'s draws; None when item ``i`` is served as rendered."""
        if self.remix_prob <= 0.0 or len(self) < 2:  # the default: nothing drawn on the hot path
            return None
        rng = np.random.default_rng([self.seed, self.epoch, int(i), REMIX_STREAM])
        if rng.random() >= self.remix_prob:
            return None
        j = int(rng.integers(0, len(self) - 1))
        j += j >= i  # any other example
        start = int(rng.integers(0, max(0, int(self.records[j]["frames"]) - self.clip_frames) + 1))
        return (j, start), rng

    def remix_partner(self, i: int) -> tuple[int, int] | None:
        """``(j, start_frame)``: the other example and crop start item ``i`` is remixed with this
        epoch, or None when item ``i`` is served as rendered."""
        draw = self._remix_draw(i)
        return None if draw is None else draw[0]

    def remixed(self, i: int) -> Crop | None:
        """This epoch's remix for item ``i`` (:func:`septimbre.data.remix.remix` of its crop with
        :meth:`remix_partner`'s), or None when item ``i`` is served as rendered this epoch."""
        draw = self._remix_draw(i)
        if draw is None:
            return None
        (j, start), rng = draw
        a = self.crop(i, with_stems=True)
        b = self.crop(j, with_stems=True, start_frame=start)
        return remix(a, b, rng, max_instruments=self.max_instruments, gain_db=self.remix_gain_db)

    def __getitem__(self, i: int) -> dict:
        # The stems (2.6x the mix on average) are read only when needed: this is the training hot path.
        crop = self.remixed(i)
        if crop is None:
            crop = self.crop(i, with_stems=self.return_stems)
        m = min(crop.rolls.shape[0], self.max_instruments)
        stem_rolls = np.zeros((self.max_instruments, N_PITCHES, self.clip_frames), np.uint8)
        stem_rolls[:m] = crop.rolls[:m]
        programs = np.full(self.max_instruments, -1, np.int64)
        programs[:m] = crop.programs[:m]
        item = {
            "audio": torch.from_numpy(crop.mix),
            "onset": torch.from_numpy((stem_rolls == ONSET).any(axis=0).astype(np.float32)),
            "frame": torch.from_numpy((stem_rolls >= SUSTAIN).any(axis=0).astype(np.float32)),
            "stem_rolls": torch.from_numpy(stem_rolls),
            "programs": torch.from_numpy(programs),
            "n_instruments": torch.tensor(m, dtype=torch.int64),
            "index": torch.tensor(int(self.records[i]["index"]), dtype=torch.int64),
        }
        if self.return_stems:
            stems = np.zeros((self.max_instruments, self.clip_samples), np.float32)
            stems[:m] = crop.stems[:m]
            item["stems"] = torch.from_numpy(stems)
        return item
