"""Remixing: new training mixtures from the stems of two rendered examples.

A rendered example keeps each instrument's audio (``stems``, after the room) beside the mix, and
``mix == stems.sum(0) + noise``. Remixing draws instruments from two examples' crops, gives each a
new level and sums them over the first example's noise: the notes of every kept stem are still
exactly labelled, and the model meets combinations of timbres, registers and levels that no
rendered example holds (as source separation trains on remixed stems). The two crops come from
unrelated pieces, so a remix is acoustically real but not harmonically coherent: it is meant to be
mixed with coherent examples (``remix_prob`` < 1), not to replace them.

All arrays are numpy; the dataset (:mod:`septimbre.data.dataset`) pads and converts them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from septimbre.utils.errors import ParameterError

#: Per-stem level change of a remix, dB (uniform): the stems already carry the rendered levels
#: (room.gain_db), so this widens their spread rather than setting it.
DEFAULT_REMIX_GAIN_DB: tuple[float, float] = (-12.0, 0.0)


def check_remix_settings(prob: float, gain_db) -> tuple[float, tuple[float, float]]:
    """Validate remix settings; return them as ``(prob, (low_db, high_db))`` floats.

    Raises
    ------
    ParameterError
        ``prob`` outside [0, 1], or ``gain_db`` not two numbers with low <= high.
    """
    if not 0.0 <= prob <= 1.0:
        raise ParameterError(f"remix_prob must be in [0, 1]; got {prob}")
    if len(gain_db) != 2 or not gain_db[0] <= gain_db[1]:
        raise ParameterError(f"remix_gain_db must be (low, high) dB with low <= high; got {gain_db}")
    return float(prob), (float(gain_db[0]), float(gain_db[1]))


@dataclass(frozen=True)
class Crop:
    """One example's aligned crop.

    Attributes
    ----------
    mix : ndarray [shape=(samples,)], float32
    stems : ndarray [shape=(n_inst, samples)], float32, or None
        Per-instrument audio; ``mix - stems.sum(0)`` is the example's noise. None when the
        stems were not read (a crop served as rendered); :func:`remix` needs them.
    rolls : ndarray [shape=(n_inst, n_pitches, frames)], uint8
        0 silent, 1 sustain, 2 onset, per instrument.
    programs : ndarray [shape=(n_inst,)], int64
        GM program of each stem.
    """

    mix: np.ndarray
    stems: np.ndarray | None
    rolls: np.ndarray
    programs: np.ndarray

    def __post_init__(self) -> None:
        n = self.rolls.shape[0]
        if self.programs.shape[0] != n or self.stems is not None and self.stems.shape[0] != n:
            raise ParameterError(f"stems, rolls and programs disagree on the instruments: "
                                 f"{None if self.stems is None else self.stems.shape[0]}, {n}, "
                                 f"{self.programs.shape[0]}")
        if self.stems is not None and self.stems.shape[1] != self.mix.shape[0]:
            raise ParameterError(f"stems have {self.stems.shape[1]} samples, the mix {self.mix.shape[0]}")


def remix(a: Crop, b: Crop, rng: np.random.Generator, *, max_instruments: int = 4,
          gain_db: tuple[float, float] = DEFAULT_REMIX_GAIN_DB) -> Crop:
    """A new crop made of stems of ``a`` and ``b`` (same length) at new levels.

    The remix has ``clip(n_a, 2, max_instruments)`` instruments (at most ``n_a + n_b``), at least
    one from each crop, chosen at random; each stem is scaled by a gain drawn uniformly in
    ``gain_db`` dB; the mix is their sum plus ``a``'s noise (``a.mix - a.stems.sum(0)``). Rolls
    and programs follow the chosen stems (``a``'s first).

    Parameters
    ----------
    a, b : Crop
        Crops of equal length; ``a`` sets the instrument count and the noise.
    rng : numpy Generator
        The only source of randomness (same state, same remix).
    max_instruments : int
        Most instruments in the remix.
    gain_db : (low, high)
        Range of the per-stem gain, dB.

    Returns
    -------
    Crop
    """
    if a.stems is None or b.stems is None:
        raise ParameterError("remixing needs both crops' stems")
    if a.mix.shape != b.mix.shape or a.rolls.shape[1:] != b.rolls.shape[1:]:
        raise ParameterError(f"crops differ in length: {a.mix.shape} / {b.mix.shape}, "
                             f"{a.rolls.shape[1:]} / {b.rolls.shape[1:]}")
    na, nb = a.stems.shape[0], b.stems.shape[0]
    if na < 1 or nb < 1:
        raise ParameterError("both crops need at least one stem")
    _, gain_db = check_remix_settings(0.0, gain_db)
    n = min(max(na, 2), max_instruments, na + nb)
    from_b = int(rng.integers(max(1, n - na), min(nb, n - 1) + 1))
    pick_a = np.sort(rng.choice(na, n - from_b, replace=False))
    pick_b = np.sort(rng.choice(nb, from_b, replace=False))
    gains = (10.0 ** (rng.uniform(gain_db[0], gain_db[1], n) / 20.0)).astype(np.float32)
    stems = np.concatenate([a.stems[pick_a], b.stems[pick_b]]) * gains[:, None]
    noise = a.mix - a.stems.sum(axis=0)
    return Crop(
        mix=(stems.sum(axis=0) + noise).astype(np.float32),
        stems=stems.astype(np.float32),
        rolls=np.concatenate([a.rolls[pick_a], b.rolls[pick_b]]),
        programs=np.concatenate([a.programs[pick_a], b.programs[pick_b]]),
    )
