"""TRIOS loader: shapes, drums excluded, targets equal to the MIDI notes (skipped without the data)."""

from __future__ import annotations

import numpy as np
import pytest
from septimbre.data.targets import notes_to_roll
from septimbre.data.trios import DRUM_TRACKS, list_pieces, load_piece, trios_root
from septimbre.utils.constants import HOP_LENGTH, N_PITCHES, SAMPLE_RATE
from septimbre.utils.errors import MissingResourceError

try:
    ROOT = trios_root()
except MissingResourceError as exc:
    pytest.skip(f"TRIOS development set not available here ({exc})", allow_module_level=True)


def test_lists_the_four_pieces():
    assert list_pieces(ROOT) == ["brahms", "lussier", "mozart", "take_five"]


def test_take_five_is_loaded_without_drums_and_aligned_shapes():
    p = load_piece("take_five", root=ROOT)
    assert p.instruments == ("piano", "saxophone") and not set(p.instruments) & set(DRUM_TRACKS)
    n, samples = p.stems.shape
    assert p.mix.shape == (samples,) and abs(samples / SAMPLE_RATE - 43.5) < 0.1
    assert p.rolls.shape == (n, N_PITCHES, -(-samples // HOP_LENGTH)) and p.rolls.dtype == np.uint8
    for k in range(n):
        assert np.array_equal(p.rolls[k], notes_to_roll(p.notes[k], n_frames=p.rolls.shape[2]))
    intervals, hz = p.mir_eval_notes()
    assert intervals.shape == (sum(map(len, p.notes)), 2) and np.all(intervals[:, 1] > intervals[:, 0])
    assert hz.min() > 30 and list(p.programs) == [0, 65]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(MissingResourceError, match="SEPTIMBRE_TRIOS"):
        trios_root(tmp_path / "nope")
