"""Metric tests against hand-worked cases (septimbre.evaluate.metrics)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from septimbre.evaluate import metrics as M
from septimbre.utils.errors import ParameterError

pytest.importorskip("mir_eval")

# Three reference notes, one second each.
REF = [(0.0, 1.0, 60), (1.0, 2.0, 62), (2.0, 3.0, 64)]
# 1: onset 30 ms late -> matched; 2: onset 200 ms late on a sounding (unmatched) 62 -> split, mistimed;
# 3: 64 + 12 while 64 sounds -> ghost; 4: alone in silence -> neither.
EST = [(0.03, 1.0, 60), (1.2, 2.0, 62), (2.0, 3.0, 76), (5.0, 6.0, 70)]


def test_hand_worked_note_scores():
    s = M.evaluate_notes(REF, EST)
    assert (s.n_ref, s.n_est, s.n_matched, s.n_fp) == (3, 4, 1, 3)
    assert s.note_precision == pytest.approx(1 / 4)
    assert s.note_recall == pytest.approx(1 / 3)
    assert s.note_f1 == pytest.approx(2 / 7)
    assert (s.n_split, s.n_mistimed, s.n_ghost) == (1, 1, 1)
    assert s.split_rate == pytest.approx(1 / 3)
    assert s.mistimed_rate == pytest.approx(1 / 3)
    assert s.ghost_rate == pytest.approx(1 / 3)
    # mir_eval's own precision_recall_f1_overlap gives the same numbers.
    assert M.note_prf(REF, EST) == pytest.approx((1 / 4, 1 / 3, 2 / 7))


def test_hand_worked_frame_scores():
    # 10 ms grid: ref 3 x 100 points; est 97 (0.03..1) + 80 (1.2..2) + 100 + 100 points;
    # hits 97 + 80 (the ghost and the lone note hit nothing).
    s = M.evaluate_notes(REF, EST)
    assert (s.frame_ref, s.frame_est, s.frame_matched) == (300, 377, 177)
    p, r = 177 / 377, 177 / 300
    assert s.frame_precision == pytest.approx(p)
    assert s.frame_recall == pytest.approx(r)
    assert s.frame_f1 == pytest.approx(2 * p * r / (p + r))
    # mir_eval.multipitch on the same grid agrees with the counts.
    assert M.frame_prf(REF, EST) == pytest.approx((p, r, 2 * p * r / (p + r)))


def test_onset_tolerance_is_50ms_and_offsets_are_ignored():
    ref = [(1.0, 2.0, 60)]
    assert M.evaluate_notes(ref, [(1.049, 1.1, 60)]).n_matched == 1  # short offset: still a match
    assert M.evaluate_notes(ref, [(1.051, 5.0, 60)]).n_matched == 0
    assert M.evaluate_notes(ref, [(1.0, 2.0, 61)]).n_matched == 0  # wrong pitch


def test_split_against_matched_estimate():
    # The second half of a broken note overlaps the matched first half (and the reference).
    # Its reference is matched, so it is a split but not mistimed.
    s = M.evaluate_notes([(0.0, 2.0, 60)], [(0.0, 1.0, 60), (1.0, 2.0, 60)])
    assert (s.n_matched, s.n_fp, s.n_split, s.n_mistimed, s.n_ghost) == (1, 1, 1, 0, 0)
    # A re-attack after the reference note ended overlaps only the matched estimate.
    kinds = M.classify_false_positives([(0.0, 1.0, 60)], [(0.0, 2.0, 60), (1.5, 2.5, 60)])
    assert kinds["split"].tolist() == [1]
    assert kinds["mistimed"].tolist() == []


def test_mistimed_onset():
    # The only estimate of a note starts 120 ms late: a miss, and a mistimed split false positive.
    s = M.evaluate_notes([(0.0, 1.0, 60), (0.0, 1.0, 64)], [(0.12, 1.0, 60), (0.0, 1.0, 64)])
    assert (s.n_matched, s.n_fp, s.n_split, s.n_mistimed, s.n_ghost) == (1, 1, 1, 1, 0)


@pytest.mark.parametrize("interval", M.GHOST_INTERVALS)
def test_every_ghost_interval(interval):
    s = M.evaluate_notes([(0.0, 1.0, 40)], [(0.0, 1.0, 40), (0.2, 0.8, 40 + interval)])
    assert (s.n_fp, s.n_ghost, s.n_split) == (1, 1, 0)


@pytest.mark.parametrize(
    "fp",
    [
        (0.2, 0.8, 47),  # a fifth above (+7): not a harmonic interval here
        (0.2, 0.8, 28),  # an octave *below*
        (1.0, 1.5, 52),  # +12 but starts exactly when the reference ends: no overlap
    ],
)
def test_not_ghosts(fp):
    s = M.evaluate_notes([(0.0, 1.0, 40)], [(0.0, 1.0, 40), fp])
    assert (s.n_fp, s.n_ghost, s.n_split) == (1, 0, 0)


def test_split_takes_precedence_over_ghost():
    # The FP at 52 overlaps a reference 52 (split) and is +12 over a sounding 40 (ghost): split.
    ref = [(0.0, 2.0, 40), (0.0, 2.0, 52)]
    s = M.evaluate_notes(ref, [(0.0, 2.0, 40), (0.0, 2.0, 52), (0.5, 1.0, 52)])
    assert (s.n_fp, s.n_split, s.n_ghost) == (1, 1, 0)


def test_empty_inputs():
    s = M.evaluate_notes(REF, [])
    assert (s.note_precision, s.note_recall, s.note_f1, s.ghost_rate) == (0.0, 0.0, 0.0, 0.0)
    assert M.note_prf([], EST) == (0.0, 0.0, 0.0)
    assert M.frame_prf(REF, []) == (0.0, 0.0, 0.0)


def test_note_objects_and_arrays_are_accepted():
    @dataclass(frozen=True)
    class N:
        start_s: float
        end_s: float
        pitch: int
        velocity: int = 80

    a = M.evaluate_notes(REF, [N(*e) for e in EST])
    b = M.evaluate_notes(np.array(REF), np.array(EST))
    assert a == b == M.evaluate_notes(REF, EST)


def test_pool_adds_counts_and_mean_averages_scores():
    s1 = M.evaluate_notes(REF, EST)  # F1 2/7
    s2 = M.evaluate_notes([(0.0, 1.0, 60)], [(0.0, 1.0, 60)])  # F1 1
    pooled = M.pool([s1, s2])
    assert (pooled.n_ref, pooled.n_est, pooled.n_matched) == (4, 5, 2)
    assert pooled.note_f1 == pytest.approx(2 * (2 / 5) * (2 / 4) / (2 / 5 + 2 / 4))
    assert M.mean_scores([s1, s2])["note_f1"] == pytest.approx((2 / 7 + 1) / 2)


def test_zero_length_note_is_lengthened_and_bad_notes_raise():
    assert M.as_note_array([(1.0, 1.0, 60)])[0, 1] == pytest.approx(1.0 + M.MIN_DURATION_S)
    with pytest.raises(ParameterError):
        M.as_note_array([(1.0, 0.5, 60)])
    with pytest.raises(ParameterError):
        M.as_note_array([(1.0, 2.0)])
    with pytest.raises(ParameterError):
        M.as_note_array([(-1.0, 2.0, 60)])


def test_leak_is_a_split_at_another_pitchs_onset():
    # 60 is held from 0 s; 67 starts at 1.0 s. A false 60 at 1.03 s is a leak (attack of the 67);
    # one at 1.50 s is a plain split; a false 60 at 1.03 s with no other note starting is no leak.
    ref = [(0.0, 2.0, 60), (1.0, 2.0, 67)]
    est = [(0.0, 1.0, 60), (1.0, 2.0, 67), (1.03, 1.4, 60), (1.5, 2.0, 60)]
    kinds = M.classify_false_positives(ref, est)
    assert kinds["split"].tolist() == [2, 3] and kinds["leak"].tolist() == [2]
    s = M.evaluate_notes(ref, est)
    assert (s.n_fp, s.n_split, s.n_leak) == (2, 2, 1) and s.leak_rate == 0.5
    alone = M.evaluate_notes([(0.0, 2.0, 60)], [(0.0, 1.0, 60), (1.03, 1.4, 60)])
    assert (alone.n_split, alone.n_leak) == (1, 0)
    assert M.pool([s, alone]).n_leak == 1


def test_recall_by_part_splits_one_matching_among_instruments():
    ref = [(0.0, 1.0, 60), (0.0, 1.0, 67), (1.0, 2.0, 62), (1.0, 2.0, 55)]
    est = [(0.01, 1.0, 60), (1.02, 2.0, 62), (1.0, 2.0, 55), (3.0, 4.0, 70)]
    got = M.recall_by_part(ref, est, ["violin", "piano", "violin", "piano"])
    assert got == {"violin": (2, 2), "piano": (1, 2)}
    # The per-instrument counts add up to the merged recall.
    assert sum(m for m, _ in got.values()) == M.evaluate_notes(ref, est).n_matched
    assert M.recall_by_part(ref, [], ["a"] * 4) == {"a": (0, 4)}
    # The same counts from one matching grouped two ways.
    hit = M.matched_reference(ref, est)
    assert hit.tolist() == [True, False, True, True]
    assert M.count_by_label(hit, ["violin", "piano", "violin", "piano"]) == got
    assert M.count_by_label(hit, ["x"] * 4) == {"x": (3, 4)}
    with pytest.raises(ParameterError):
        M.recall_by_part(ref, est, ["violin"])
