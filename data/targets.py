"""Piano-roll targets from notes.

Conventions (shared with the model and the evaluation): a roll has shape (N_PITCHES, frames) with
row ``pitch - MIDI_MIN``; frame ``i`` is centred at ``i / FRAME_RATE`` seconds. A note sets
``ONSET`` (2) at frame ``round(start_s * FRAME_RATE)`` and ``SUSTAIN`` (1) on frames up to
``round(end_s * FRAME_RATE)`` exclusive (at least the onset frame). 0 is silence.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from septimbre.utils.constants import FRAME_RATE, MIDI_MAX, MIDI_MIN, N_PITCHES

SILENT, SUSTAIN, ONSET = 0, 1, 2


def notes_to_roll(notes: Iterable, *, n_frames: int) -> np.ndarray:
    """Roll of the notes (objects with ``start_s``, ``end_s``, ``pitch``).

    Returns
    -------
    ndarray, uint8, shape (N_PITCHES, n_frames)
        0 silent, 1 sustain, 2 onset frame. Notes outside MIDI_MIN..MIDI_MAX are ignored;
        frames past ``n_frames`` are cut.
    """
    roll = np.zeros((N_PITCHES, n_frames), np.uint8)
    onsets = []
    for n in notes:
        if not (MIDI_MIN <= n.pitch <= MIDI_MAX):
            continue
        f0 = int(round(n.start_s * FRAME_RATE))
        f1 = max(f0 + 1, int(round(n.end_s * FRAME_RATE)))
        if f0 >= n_frames:
            continue
        row = n.pitch - MIDI_MIN
        roll[row, f0:f1] = np.maximum(roll[row, f0:f1], SUSTAIN)
        onsets.append((row, f0))
    for row, f0 in onsets:
        roll[row, f0] = ONSET
    return roll


def roll_to_notes(roll: np.ndarray) -> list[tuple[float, float, int]]:
    """Inverse of :func:`notes_to_roll` up to frame quantisation: (start_s, end_s, pitch) tuples.

    A note starts at an onset frame (or at a sustain frame after silence) and lasts while the next
    frames are sustain. Used for checks and plots.
    """
    out = []
    for row in range(roll.shape[0]):
        r = roll[row]
        f = 0
        n = r.shape[0]
        while f < n:
            if r[f] == SILENT:
                f += 1
                continue
            g = f + 1
            while g < n and r[g] == SUSTAIN:
                g += 1
            out.append((f / FRAME_RATE, g / FRAME_RATE, row + MIDI_MIN))
            f = g
    out.sort()
    return out
