"""Rendering audit of soundfont programs: is every usable program present, audible and in tune
at the bottom, middle and top of its playable range?

For each (soundfont, program) three notes are rendered; a note passes when its level is above
``MIN_LEVEL_DB`` dBFS and at least ``MIN_HARMONIC_SHARE`` of its spectral energy (30 Hz-9 kHz)
lies within 40 cents of the harmonics of the labelled pitch. The findings were used to lower the
upper limits in septimbre.data.programs and to curate the per-soundfont lists in the configs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from septimbre.data.notes import ScoreNote
from septimbre.data.programs import GM_PROGRAMS
from septimbre.data.render import has_program, render_stem
from septimbre.data.soundfonts import find_soundfont
from septimbre.utils.constants import SAMPLE_RATE, midi_to_hz

MIN_LEVEL_DB = -60.0
MIN_HARMONIC_SHARE = 0.5


@dataclass(frozen=True)
class NoteCheck:
    """Result for one rendered note: pitch, RMS level (dBFS) and harmonic energy share (0..1)."""

    pitch: int
    level_db: float
    harmonic_share: float

    @property
    def ok(self) -> bool:
        return self.level_db > MIN_LEVEL_DB and self.harmonic_share >= MIN_HARMONIC_SHARE


def harmonic_share(x: np.ndarray, pitch: int, *, sr: int = SAMPLE_RATE, cents: float = 40.0) -> float:
    """Share of the 30 Hz-9 kHz energy of ``x`` within ``cents`` of the harmonics of ``pitch``."""
    spec = np.abs(np.fft.rfft(x * np.hanning(x.shape[0]))) ** 2
    f = np.fft.rfftfreq(x.shape[0], 1.0 / sr)
    band = (f > 30.0) & (f < 9000.0)
    f0 = midi_to_hz(pitch)
    near = np.zeros_like(band)
    for k in range(1, int(9000.0 / f0) + 1):
        near |= np.abs(1200.0 * np.log2(np.maximum(f, 1.0) / (k * f0))) < cents
    return float(spec[near & band].sum() / (spec[band].sum() + 1e-20))


def audit_program(soundfont: str, program: int) -> list[NoteCheck] | None:
    """Checks of the lowest, middle and highest note of ``program``; None if the preset is absent."""
    path = find_soundfont(soundfont)
    if not has_program(path, program):
        return None
    info = GM_PROGRAMS[program]
    pitches = [info.low, (info.low + info.high) // 2, info.high]
    notes = [ScoreNote(0.1 + i, 0.9 + i, q, 100) for i, q in enumerate(pitches)]
    x = render_stem(notes, soundfont=path, program=program, n_samples=3 * SAMPLE_RATE)
    out = []
    for i, q in enumerate(pitches):
        seg = x[int((0.15 + i) * SAMPLE_RATE) : int((0.85 + i) * SAMPLE_RATE)]
        level = 20.0 * np.log10(np.sqrt(np.mean(seg.astype(np.float64) ** 2)) + 1e-12)
        out.append(NoteCheck(q, round(float(level), 1), round(harmonic_share(seg, q), 3)))
    return out
