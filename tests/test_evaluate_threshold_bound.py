"""The threshold-bound diagnostic: grid scoring on hand-made posteriorgrams, summaries, CLI."""

from __future__ import annotations

import numpy as np
import pytest
from septimbre.evaluate.threshold_bound import BoundRow, PieceGrid, grid_f1, summarise, with_value
from septimbre.utils.constants import MIDI_MIN, frames_to_seconds
from septimbre.utils.errors import ParameterError

SETTINGS = {"onset_threshold": 0.075, "frame_threshold": 0.325, "min_note_ms": 35.0,
            "infer_onsets": False, "recover_onsetless": False}


def test_with_value_adds_the_shipped_point_once_and_sorts():
    assert with_value([0.3, 0.1], 0.2) == (0.1, 0.2, 0.3)
    assert with_value([0.3, 0.1], 0.1) == (0.1, 0.3)
    with pytest.raises(ParameterError):
        with_value([0.0, 0.5], 0.3)
    with pytest.raises(ParameterError):
        with_value([0.5], 1.0)


def test_grid_f1_scores_each_threshold_pair():
    # Two notes in the posteriors, 30 frames each: A4 with an onset peak of 0.2 (in the reference)
    # and C5 with a weak peak of 0.06 (not in it); both frame posteriors sit at 0.6.
    onset = np.zeros((84, 100), np.float32)
    frame = np.zeros((84, 100), np.float32)
    a4, c5 = 69 - MIDI_MIN, 72 - MIDI_MIN
    for row, peak in ((a4, 0.2), (c5, 0.06)):
        onset[row, 10] = peak
        frame[row, 10:40] = 0.6
    reference = np.array([[frames_to_seconds(10), frames_to_seconds(40), 69.0]])
    f1 = grid_f1(reference, onset, frame, SETTINGS, onset_grid=[0.05, 0.1, 0.3], frame_grid=[0.5, 0.7])
    assert f1.shape == (3, 2)
    np.testing.assert_allclose(f1[:, 0], [2 / 3, 1.0, 0.0])  # 0.05: one false note; 0.3: nothing found
    np.testing.assert_allclose(f1[:, 1], 0.0)  # frame threshold over the posterior: no note at all


def test_summarise_best_for_the_set_and_per_piece_oracle():
    # Piece a peaks at grid point (0, 0), piece b at (1, 1); the set's best single point is (1, 1).
    a = PieceGrid("trios", "a", np.array([[0.9, 0.5], [0.6, 0.7]]), 0.6)
    b = PieceGrid("trios", "b", np.array([[0.1, 0.2], [0.4, 0.8]]), 0.4)
    c = PieceGrid("unseen", "c", np.array([[0.3, 0.3], [0.3, 0.3]]), 0.3)
    settings = {"onset_threshold": 0.1, "frame_threshold": 0.3}
    rows = summarise([a, b, c], (0.1, 0.2), (0.3, 0.4), settings)
    assert [r.set_name for r in rows] == ["trios", "unseen"]
    trios = rows[0]
    assert isinstance(trios, BoundRow) and trios.n_pieces == 2
    assert trios.shipped == pytest.approx(0.5)
    assert trios.best_global == pytest.approx(0.75) and trios.best_global_thresholds == (0.2, 0.4)
    assert trios.per_piece_oracle == pytest.approx(0.85)  # (0.9 + 0.8) / 2, above the best single point


def test_threshold_bound_command_on_the_test_double(tmp_path, tone_trios, capsys):
    # The ONNX test double on a 1 s A4 tone: every reasonable grid point finds the one note.
    pytest.importorskip("onnx")
    from septimbre.evaluate.cli import main
    from septimbre.testing import build_test_double, write_test_config

    model = build_test_double(tmp_path / "m" / "basicamt.onnx")
    write_test_config(model.with_suffix(".json"))
    rc = main(["threshold-bound", "--model", str(model), "--sets", "trios", "--trios", str(tone_trios),
               "--onsets", "0.2,0.4", "--frames", "0.3"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "per-piece oracle" in text and "bounds, not choices" in text
    summary = next(line for line in text.splitlines() if line.startswith("trios ") and " 1 " in line)
    assert summary.split()[2] == "1.000" and summary.split()[-1] == "1.000"
    assert any(line.split()[:2] == ["trios", "tone"] for line in text.splitlines())

    assert main(["threshold-bound", "--model", str(model), "--trios", str(tone_trios), "--onsets", "1.5"]) == 2
    assert "thresholds must lie in (0, 1)" in capsys.readouterr().err
