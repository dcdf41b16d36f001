"""Partial-balance diagnostic: known harmonic tones give their partial levels back."""

from __future__ import annotations

import numpy as np
import pytest
from septimbre.data.notes import ScoreNote
from septimbre.evaluate.partials import partial_levels
from septimbre.utils.constants import SAMPLE_RATE
from septimbre.utils.errors import ParameterError


def _tone(pitch: int, amps, start_s: float, end_s: float, n: int) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    x = sum(a * np.sin(2 * np.pi * (k + 1) * f0 * t + k) for k, a in enumerate(amps))
    return np.where((t >= start_s) & (t < end_s), x, 0.0)


def test_partial_levels_of_known_tones():
    n = SAMPLE_RATE * 2
    amps = [1.0, 0.5, 0.25, 0.125, 0.0625]  # -6 dB per partial
    dark = [1.0, 0.1, 0.01]
    audio = _tone(57, amps, 0.0, 0.8, n) + _tone(64, dark + [0.0, 0.0], 1.0, 1.6, n)
    notes = [ScoreNote(0.0, 0.8, 57, 90), ScoreNote(1.0, 1.6, 64, 90),
             ScoreNote(1.7, 1.75, 60, 90)]  # too short to measure: skipped
    got = partial_levels(audio, notes, n_partials=5)
    assert got.shape == (2, 4)
    np.testing.assert_allclose(got[0], [-6.02, -12.04, -18.06, -24.08], atol=0.2)
    np.testing.assert_allclose(got[1, :2], [-20.0, -40.0], atol=0.3)
    assert got[1, 2] < -60  # absent partials sit at the noise floor
    # a note whose 5th partial would pass Nyquist is skipped; n_partials below 2 is refused
    assert partial_levels(audio, [ScoreNote(0.0, 0.8, 107, 90)]).shape == (0, 4)
    with pytest.raises(ParameterError):
        partial_levels(audio, notes, n_partials=1)
