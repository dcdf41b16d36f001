"""The tuner's two objectives: pooled note F1 over clips, and the mean of per-clip note F1."""

from __future__ import annotations

import types

import numpy as np
import pytest

from septimbre.basicamt.validation import ValClip, score
from septimbre.utils.constants import FRAME_RATE, MIDI_MIN, N_PITCHES


def _clip(sounding: list[tuple[int, float, float]], refs: list[tuple[int, float, float]], seconds: float = 2.0):
    """Posteriorgrams with a clean note per ``(pitch, start_s, end_s)`` in ``sounding``; references ``refs``."""
    n = int(round(seconds * FRAME_RATE))
    onset = np.zeros((N_PITCHES, n), np.float32)
    frame = np.zeros((N_PITCHES, n), np.float32)
    for pitch, start, end in sounding:
        a, b = int(round(start * FRAME_RATE)), int(round(end * FRAME_RATE))
        onset[pitch - MIDI_MIN, a] = 0.9
        frame[pitch - MIDI_MIN, a:b] = 0.9
    target = frame > 0.5
    ref = np.asarray([(s, e, p) for p, s, e in refs], dtype=np.float64).reshape(-1, 3)
    return ValClip(onset=onset, frame=frame, frame_target=target, ref_notes=ref)


def test_score_reports_the_mean_of_per_clip_note_f1_beside_the_pooled_one():
    found = _clip([(60, 0.5, 1.0)], [(60, 0.5, 1.0)])            # F1 1
    missed = _clip([], [(64, 0.5, 1.0), (67, 1.0, 1.5)])          # F1 0 (2 reference notes)
    empty = _clip([], [])                                         # no reference: left out of the mean
    s = score([found, missed, empty], onset_threshold=0.5, frame_threshold=0.5, min_note_ms=50.0)
    assert s.note_precision == 1.0 and s.note_recall == pytest.approx(1 / 3)
    assert s.note_f1 == pytest.approx(0.5)
    assert s.note_f1_mean == pytest.approx(0.5)
    s2 = score([found, found, missed], onset_threshold=0.5, frame_threshold=0.5, min_note_ms=50.0)
    assert s2.note_f1 == pytest.approx(2 * 0.5 / 1.5) and s2.note_f1_mean == pytest.approx(2 / 3)
    assert np.isnan(score([empty], onset_threshold=0.5, frame_threshold=0.5, min_note_ms=50.0).note_f1_mean)


def test_search_maximises_the_chosen_objective(monkeypatch):
    """A scorer whose pooled optimum is frame 0.35 and whose per-clip-mean optimum is frame 0.2."""
    import septimbre.basicamt.validation as validation
    from septimbre.basicamt.tune import search
    from septimbre.utils.errors import ParameterError

    def fake_score(clips, *, onset_threshold, frame_threshold, min_note_ms, infer_onsets, recover_onsetless):
        base = 0.9 - abs(onset_threshold - 0.3) - abs(min_note_ms - 50.0) / 1000
        return types.SimpleNamespace(note_f1=base - abs(frame_threshold - 0.35), note_precision=base,
                                     note_recall=base, frame_f1=0.5,
                                     note_f1_mean=base - abs(frame_threshold - 0.2))

    monkeypatch.setattr(validation, "score", fake_score)
    pooled, _ = search(None, progress=False, variants=((False, False),))
    mean, trials = search(None, progress=False, variants=((False, False),), objective="mean")
    assert (pooled.onset_threshold, pooled.frame_threshold) == (0.3, 0.35)
    assert (mean.onset_threshold, mean.frame_threshold) == (0.3, 0.2)
    assert trials[0] == mean and mean.note_f1_mean == pytest.approx(0.9)
    with pytest.raises(ParameterError, match="objective"):
        search(None, progress=False, objective="median")
