"""A tiny synthetic dataset with known targets (test double and smoke-run data, not training data).

Each item is a clip of a few harmonic tones (fundamental plus decaying partials, random pitch,
start and length) with exact onset / frame targets in the data engine's item format: ``audio``
float32 (clip_samples,), ``onset`` / ``frame`` float32 (84, clip_frames), ``stem_rolls`` uint8
(1, 84, clip_frames) with 0 silent / 1 sustain / 2 onset. Item ``i`` of epoch ``e`` is a pure function
of ``(seed, e, i)``.
"""

from __future__ import annotations

import numpy as np
from septimbre.utils.constants import HOP_LENGTH, MIDI_MIN, N_PITCHES, SAMPLE_RATE, midi_to_hz


class ToneDataset:
    """Random harmonic tones with exact piano-roll targets.

    Parameters
    ----------
    n_items : int
    clip_seconds : float
        Clip length (rounded to whole hops).
    seed : int
    pitch_range : (int, int)
        Inclusive MIDI range of the tones.
    max_notes : int
        Up to this many tones per clip (at least one).
    """

    def __init__(self, n_items: int, *, clip_seconds: float = 1.0, seed: int = 0,
                 pitch_range: tuple[int, int] = (48, 84), max_notes: int = 3) -> None:
        self.n_items = int(n_items)
        self.clip_frames = max(4, int(round(clip_seconds * SAMPLE_RATE / HOP_LENGTH)))
        self.clip_samples = self.clip_frames * HOP_LENGTH
        self.seed = int(seed)
        self.pitch_range = pitch_range
        self.max_notes = int(max_notes)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n_items

    def __getitem__(self, i: int) -> dict:
        import torch

        rng = np.random.default_rng([self.seed, self.epoch, int(i)])
        t = np.arange(self.clip_samples) / SAMPLE_RATE
        audio = np.zeros(self.clip_samples)
        roll = np.zeros((N_PITCHES, self.clip_frames), np.uint8)
        for _ in range(int(rng.integers(1, self.max_notes + 1))):
            pitch = int(rng.integers(self.pitch_range[0], self.pitch_range[1] + 1))
            f0 = int(rng.integers(2, self.clip_frames // 2))
            f1 = int(min(self.clip_frames, f0 + rng.integers(8, self.clip_frames)))
            s0, s1 = f0 * HOP_LENGTH, f1 * HOP_LENGTH
            env = np.zeros(self.clip_samples)
            env[s0:s1] = np.exp(-np.arange(s1 - s0) / SAMPLE_RATE * rng.uniform(0.5, 3.0))
            env[s0:s1] *= np.minimum(1.0, np.arange(s1 - s0) / 64.0)  # 3 ms attack
            for h in range(1, 5):
                f = h * midi_to_hz(pitch)
                if f < SAMPLE_RATE / 2:
                    audio += rng.uniform(0.3, 1.0) / h * env * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3))
            row = pitch - MIDI_MIN
            roll[row, f0:f1] = np.maximum(roll[row, f0:f1], 1)
            roll[row, f0] = 2
        audio *= rng.uniform(0.05, 0.5) / max(1e-9, np.abs(audio).max())
        return {
            "audio": torch.tensor(audio, dtype=torch.float32),
            "onset": torch.from_numpy((roll == 2).astype(np.float32)),
            "frame": torch.from_numpy((roll >= 1).astype(np.float32)),
            "stem_rolls": torch.from_numpy(roll[None].copy()),
        }
