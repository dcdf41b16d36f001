"""Transcription metrics: mir_eval note- and frame-level scores plus false-positive diagnostics.

Conventions (every figure septimbre reports uses these):

- **Notes** are ``(start_s, end_s, pitch)`` with times in seconds and ``pitch`` a MIDI number.
  Inputs may be an ``(n, 3)`` array, a sequence of such triples, or objects with ``start_s``,
  ``end_s`` and ``pitch`` attributes (e.g. :class:`septimbre.utils.notes.Note`).
  Zero-length notes are lengthened to :data:`MIN_DURATION_S` (mir_eval needs positive durations).
- **Note level**: ``mir_eval.transcription`` matching, onset within +-:data:`ONSET_TOLERANCE_S`
  (50 ms), pitch within 50 cents (so the exact MIDI pitch), offsets ignored (``offset_ratio=None``).
  P = matched / estimated, R = matched / reference, F1 their harmonic mean.
- **Frame level**: both note lists are rendered onto one time grid of step
  :data:`FRAME_STEP_S` (10 ms; grid point ``k`` at ``k * 0.01`` s); a pitch is active at ``t`` when
  ``start_s <= t < end_s``; ``mir_eval.multipitch`` scores the grid (50-cent tolerance, i.e. exact
  MIDI pitch). Offsets therefore matter here, unlike at note level.
- **False-positive diagnostics** (share of the unmatched estimated notes, each counted once, split
  first): a *split* is an unmatched note whose pitch equals that of a reference note or of a matched
  estimated note and whose time span overlaps it (a re-attack or a note broken in two); a *ghost* is
  an unmatched, non-split note whose pitch is :data:`GHOST_INTERVALS` (12, 19, 24, 28, 31 or 36)
  semitones above a reference note whose time span overlaps it (a harmonic mistaken for a note).
  A split is *mistimed* when its only same-pitch overlapping partners are reference notes that are
  themselves unmatched: the note was found but its onset is more than 50 ms off (on real
  recordings with hand-aligned references this is often the reference's timing, not a re-attack).
  A split is a *leak* when it starts within the onset tolerance of the onset of a reference note of
  another pitch: the attack of a new note made a pitch that was already sounding look re-attacked.
  Overlap means an intersection of positive length of the ``[start_s, end_s)`` spans.

Pooled results over several pieces add the counts (matched, estimated, reference; ghosts, splits,
false positives) before dividing; :func:`mean_scores` averages the per-piece scores instead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from septimbre.utils.constants import HARMONIC_INTERVALS, midi_to_hz
from septimbre.utils.errors import ParameterError, require

logger = logging.getLogger(__name__)

#: Note-onset tolerance for a match, seconds (mir_eval's and MIREX's default).
ONSET_TOLERANCE_S: float = 0.05
#: Pitch tolerance for a match, cents (half a semitone: the exact MIDI pitch).
PITCH_TOLERANCE_CENTS: float = 50.0
#: Step of the frame-level time grid, seconds.
FRAME_STEP_S: float = 0.01
#: Semitone distances above a sounding note at which a false positive counts as a harmonic ghost
#: (harmonics 2, 3, 4, 5, 6 and 8 rounded to the nearest semitone).
GHOST_INTERVALS: tuple[int, ...] = HARMONIC_INTERVALS
#: Zero-length notes are given this duration, seconds.
MIN_DURATION_S: float = 1e-3


def as_note_array(notes: Any) -> np.ndarray:
    """Normalise notes to a float64 array.

    Parameters
    ----------
    notes : array-like [shape=(n, 3)] or iterable of objects with ``start_s``, ``end_s``, ``pitch``
        Start and end times in seconds, MIDI pitch.

    Returns
    -------
    np.ndarray [shape=(n, 3)], float64
        Columns ``start_s, end_s, pitch``; zero-length notes lengthened to :data:`MIN_DURATION_S`.

    Raises
    ------
    ParameterError
        On a wrong shape, non-finite or negative times, an end before its start, or a pitch <= 0.
    """
    if isinstance(notes, np.ndarray):
        arr = np.asarray(notes, dtype=np.float64)
    else:
        items = list(notes)
        if items and all(hasattr(n, "start_s") for n in items):
            arr = np.array([[n.start_s, n.end_s, n.pitch] for n in items], dtype=np.float64)
        else:
            arr = np.asarray(items, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 3), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise ParameterError(f"notes must have shape (n, 3) as (start_s, end_s, pitch); got {arr.shape}")
    arr = arr[:, :3].copy()
    if not np.isfinite(arr).all():
        raise ParameterError("notes contain non-finite values")
    if (arr[:, :2] < 0).any():
        raise ParameterError("notes contain negative times")
    if (arr[:, 1] < arr[:, 0]).any():
        raise ParameterError("notes contain an end_s before its start_s")
    if (arr[:, 2] <= 0).any():
        raise ParameterError("notes contain a non-positive MIDI pitch")
    zero = arr[:, 1] <= arr[:, 0]
    if zero.any():
        logger.debug("lengthening %d zero-length notes to %g s", int(zero.sum()), MIN_DURATION_S)
        arr[zero, 1] = arr[zero, 0] + MIN_DURATION_S
    return arr


def _hz(pitches: np.ndarray) -> np.ndarray:
    return np.array([midi_to_hz(float(p)) for p in pitches], dtype=np.float64)


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2.0 * p * r / (p + r)


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


@dataclass(frozen=True)
class Scores:
    """Counts and scores of one piece (or of several pooled).

    Note-level counts: ``n_ref``, ``n_est``, ``n_matched``; false positives ``n_fp = n_est -
    n_matched``, of which ``n_split`` (``n_mistimed`` of them mistimed, ``n_leak`` at another
    note's onset) and ``n_ghost``. Frame-level counts are (grid point, pitch)
    pairs: ``frame_ref``, ``frame_est``, ``frame_matched``. Scores are in [0, 1]; a ratio with a
    zero denominator is 0 (mir_eval's convention), so ``ghost_rate`` is 0 when there is no false
    positive.
    """

    n_ref: int
    n_est: int
    n_matched: int
    n_split: int
    n_mistimed: int
    n_ghost: int
    frame_ref: int
    frame_est: int
    frame_matched: int
    n_leak: int = 0

    @property
    def n_fp(self) -> int:
        return self.n_est - self.n_matched

    @property
    def note_precision(self) -> float:
        return _ratio(self.n_matched, self.n_est)

    @property
    def note_recall(self) -> float:
        return _ratio(self.n_matched, self.n_ref)

    @property
    def note_f1(self) -> float:
        return _f1(self.note_precision, self.note_recall)

    @property
    def frame_precision(self) -> float:
        return _ratio(self.frame_matched, self.frame_est)

    @property
    def frame_recall(self) -> float:
        return _ratio(self.frame_matched, self.frame_ref)

    @property
    def frame_f1(self) -> float:
        return _f1(self.frame_precision, self.frame_recall)

    @property
    def split_rate(self) -> float:
        """Share of false positives that are same-pitch re-attacks or split notes."""
        return _ratio(self.n_split, self.n_fp)

    @property
    def mistimed_rate(self) -> float:
        """Share of false positives that are splits whose only same-pitch partner is an unmatched
        reference note: the note was found with its onset more than the tolerance off."""
        return _ratio(self.n_mistimed, self.n_fp)

    @property
    def leak_rate(self) -> float:
        """Share of false positives that are splits starting at another pitch's reference onset."""
        return _ratio(self.n_leak, self.n_fp)

    @property
    def ghost_rate(self) -> float:
        """Share of false positives that are harmonic ghosts of a sounding reference note."""
        return _ratio(self.n_ghost, self.n_fp)

    def __add__(self, other: Scores) -> Scores:
        return Scores(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def to_dict(self) -> dict[str, float]:
        """Counts and every score, JSON-able."""
        out: dict[str, float] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["n_fp"] = self.n_fp
        for name in SCORE_NAMES:
            out[name] = getattr(self, name)
        return out


#: Score properties of :class:`Scores`, in table order.
SCORE_NAMES: tuple[str, ...] = (
    "note_precision", "note_recall", "note_f1",
    "frame_precision", "frame_recall", "frame_f1",
    "ghost_rate", "split_rate", "mistimed_rate", "leak_rate",
)


def match_notes(ref: Any, est: Any, *, onset_tolerance_s: float = ONSET_TOLERANCE_S) -> list[tuple[int, int]]:
    """Onset/pitch matching of ``mir_eval.transcription.match_notes`` (offsets ignored).

    Returns
    -------
    list of (ref_index, est_index)
        A maximum one-to-one matching.
    """
    mir_eval = require("mir_eval", "eval")
    ref_a, est_a = as_note_array(ref), as_note_array(est)
    if len(ref_a) == 0 or len(est_a) == 0:
        return []
    return list(
        mir_eval.transcription.match_notes(
            ref_a[:, :2], _hz(ref_a[:, 2]), est_a[:, :2], _hz(est_a[:, 2]),
            onset_tolerance=onset_tolerance_s, pitch_tolerance=PITCH_TOLERANCE_CENTS, offset_ratio=None,
        )
    )


def matched_reference(ref: Any, est: Any, *, onset_tolerance_s: float = ONSET_TOLERANCE_S) -> np.ndarray:
    """Which reference notes the estimate matches (mir_eval matching, onsets only).

    Returns
    -------
    np.ndarray [shape=(n_ref,)], bool
        ``True`` where reference row ``i`` (order of :func:`as_note_array`) has a match.
    """
    ref_a = as_note_array(ref)
    hit = np.zeros(len(ref_a), bool)
    for i, _ in match_notes(ref_a, est, onset_tolerance_s=onset_tolerance_s):
        hit[i] = True
    return hit


def count_by_label(hit: np.ndarray, labels: Sequence[str]) -> dict[str, tuple[int, int]]:
    """``{label: (matched, total)}`` reference notes, labels in first-appearance order.

    ``hit`` from :func:`matched_reference`; ``labels`` one per reference row.
    """
    hit = np.asarray(hit, bool)
    if len(labels) != len(hit):
        raise ParameterError(f"{len(labels)} labels for {len(hit)} reference notes")
    arr = np.asarray(labels, dtype=object)
    masks = {label: arr == label for label in dict.fromkeys(labels)}
    return {label: (int(hit[m].sum()), int(m.sum())) for label, m in masks.items()}


def recall_by_part(ref: Any, est: Any, parts: Sequence[str], *,
                   onset_tolerance_s: float = ONSET_TOLERANCE_S) -> dict[str, tuple[int, int]]:
    """Note recall per instrument of a merged reference, from one matching of all notes.

    Parameters
    ----------
    ref, est : notes
        Merged reference and estimated notes (see :func:`as_note_array`).
    parts : sequence of str
        Instrument of each reference row (same order as ``ref``).

    Returns
    -------
    dict
        ``{part: (matched, total)}`` reference notes, in first-appearance order; the matched counts
        add up to the merged recall's numerator.
    """
    ref_a = as_note_array(ref)
    if len(parts) != len(ref_a):
        raise ParameterError(f"{len(parts)} part labels for {len(ref_a)} reference notes")
    return count_by_label(matched_reference(ref_a, est, onset_tolerance_s=onset_tolerance_s), parts)


#: Labels of :func:`onset_context`, in table order.
ONSET_CONTEXTS: tuple[str, ...] = ("alone", "chord", "on-partial")


def onset_context(ref: Any, *, onset_tolerance_s: float = ONSET_TOLERANCE_S) -> list[str]:
    """What sounds up with each reference note's onset: one label of :data:`ONSET_CONTEXTS` per row.

    ``"on-partial"``: another reference note starts within ``onset_tolerance_s`` at
    :data:`GHOST_INTERVALS` semitones below it (the note starts on that note's partials: octave,
    twelfth, ... doublings); ``"chord"``: another note starts within the tolerance, none there;
    ``"alone"``: no other note starts within it. ``ref`` as in :func:`as_note_array`; order kept.
    """
    ref_a = as_note_array(ref)
    n = len(ref_a)
    order = np.argsort(ref_a[:, 0], kind="stable")
    start, pitch = ref_a[order, 0], ref_a[order, 2]
    # Pairs in onset order, offset by offset: memory ~ notes x (notes starting within the tolerance).
    reach = np.searchsorted(start, start + onset_tolerance_s, side="right") - np.arange(n)
    together = np.zeros(n, bool)
    on_partial = np.zeros(n, bool)
    for d in range(1, int(reach.max(initial=0)) + 2):  # +1: a rounding margin of the search
        a, b = np.arange(n - d), np.arange(d, n)
        close = np.abs(start[b] - start[a]) <= onset_tolerance_s
        together[a] |= close
        together[b] |= close
        on_partial[a] |= close & np.isin(pitch[a] - pitch[b], GHOST_INTERVALS)
        on_partial[b] |= close & np.isin(pitch[b] - pitch[a], GHOST_INTERVALS)
    labels = np.empty(n, object)
    labels[order] = np.where(on_partial, "on-partial", np.where(together, "chord", "alone"))
    return [str(x) for x in labels]


#: Label of re-attacked notes in the onset-context table (:func:`reattacked`).
REATTACK = "re-attack"
#: A note re-attacks its pitch when another note of that pitch sounded until less than this before it, s.
REATTACK_GAP_S = 0.06


def reattacked(ref: Any, *, gap_s: float = REATTACK_GAP_S,
               onset_tolerance_s: float = ONSET_TOLERANCE_S) -> np.ndarray:
    """Reference notes that re-attack a pitch already sounding: ``(n_ref,)`` bool, order kept.

    Row ``i`` is a re-attack when another reference note of the same pitch started more than
    ``onset_tolerance_s`` before it (so not a unison doubling, :func:`count_doubled_notes`) and
    ended less than ``gap_s`` seconds before its onset, or still sounds there: a repeated note
    (tongued, re-bowed, re-struck) or a pitch another instrument holds. Its onset is the change
    that a sustaining pitch hides.
    """
    ref_a = as_note_array(ref)
    out = np.zeros(len(ref_a), bool)
    for pitch in np.unique(ref_a[:, 2]):  # pairs within one pitch only: memory ~ (notes per pitch)^2
        rows = np.flatnonzero(ref_a[:, 2] == pitch)
        if len(rows) < 2:
            continue
        start, end = ref_a[rows, 0], ref_a[rows, 1]
        earlier = start[None, :] < start[:, None] - onset_tolerance_s
        recent = end[None, :] > start[:, None] - gap_s
        out[rows] = (earlier & recent).any(1)
    return out


def count_doubled_notes(ref: Any, *, onset_tolerance_s: float = ONSET_TOLERANCE_S) -> int:
    """Reference notes that double the one before them: same pitch, onset within ``onset_tolerance_s``
    of the previous note of that pitch (e.g. two instruments in unison).

    A merged transcription has one note there, so these notes cap note recall: at most
    ``n_ref - count`` references can match. ``ref`` as in :func:`as_note_array` (seconds, MIDI).
    """
    ref_a = as_note_array(ref)
    if len(ref_a) < 2:
        return 0
    r = ref_a[np.lexsort((ref_a[:, 0], ref_a[:, 2]))]
    return int(((np.diff(r[:, 2]) == 0) & (np.diff(r[:, 0]) <= onset_tolerance_s)).sum())


def note_prf(ref: Any, est: Any, *, onset_tolerance_s: float = ONSET_TOLERANCE_S) -> tuple[float, float, float]:
    """Note-level precision, recall, F1 (``mir_eval.transcription.precision_recall_f1_overlap``).

    Onset within ``onset_tolerance_s``, pitch within 50 cents, offsets ignored. Empty inputs give 0.
    """
    mir_eval = require("mir_eval", "eval")
    ref_a, est_a = as_note_array(ref), as_note_array(est)
    if len(ref_a) == 0 or len(est_a) == 0:
        return 0.0, 0.0, 0.0
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_a[:, :2], _hz(ref_a[:, 2]), est_a[:, :2], _hz(est_a[:, 2]),
        onset_tolerance=onset_tolerance_s, pitch_tolerance=PITCH_TOLERANCE_CENTS, offset_ratio=None,
    )
    return float(p), float(r), float(f)


def notes_to_grid(notes: Any, *, n_steps: int, step_s: float = FRAME_STEP_S) -> list[np.ndarray]:
    """Active MIDI pitches at each grid point ``k * step_s`` (``start_s <= t < end_s``).

    Returns
    -------
    list of np.ndarray
        ``n_steps`` arrays of the distinct active MIDI pitches (float64), ascending.
    """
    arr = as_note_array(notes)
    active: list[set[float]] = [set() for _ in range(n_steps)]
    for start_s, end_s, pitch in arr:
        first = math.ceil(start_s / step_s - 1e-9)
        last = math.ceil(end_s / step_s - 1e-9)  # exclusive
        for k in range(max(first, 0), min(last, n_steps)):
            active[k].add(float(pitch))
    return [np.array(sorted(a), dtype=np.float64) for a in active]


def _grid_length(*note_arrays: np.ndarray, step_s: float) -> int:
    end = max((float(a[:, 1].max()) for a in note_arrays if len(a)), default=0.0)
    return math.ceil(end / step_s) + 1


def frame_prf(ref: Any, est: Any, *, step_s: float = FRAME_STEP_S) -> tuple[float, float, float]:
    """Frame-level precision, recall, F1 from ``mir_eval.multipitch`` on a shared ``step_s`` grid."""
    mir_eval = require("mir_eval", "eval")
    ref_a, est_a = as_note_array(ref), as_note_array(est)
    n = _grid_length(ref_a, est_a, step_s=step_s)
    times = np.arange(n, dtype=np.float64) * step_s
    ref_f = [_hz(p) for p in notes_to_grid(ref_a, n_steps=n, step_s=step_s)]
    est_f = [_hz(p) for p in notes_to_grid(est_a, n_steps=n, step_s=step_s)]
    if not any(len(f) for f in ref_f) or not any(len(f) for f in est_f):
        return 0.0, 0.0, 0.0
    scores = mir_eval.multipitch.evaluate(times, ref_f, times, est_f)
    p, r = float(scores["Precision"]), float(scores["Recall"])
    return p, r, _f1(p, r)


def _frame_counts(ref_a: np.ndarray, est_a: np.ndarray, *, step_s: float) -> tuple[int, int, int]:
    n = _grid_length(ref_a, est_a, step_s=step_s)
    ref_g = notes_to_grid(ref_a, n_steps=n, step_s=step_s)
    est_g = notes_to_grid(est_a, n_steps=n, step_s=step_s)
    n_ref = sum(len(g) for g in ref_g)
    n_est = sum(len(g) for g in est_g)
    n_hit = sum(len(np.intersect1d(r, e)) for r, e in zip(ref_g, est_g))
    return n_ref, n_est, n_hit


def _overlaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) bool: the [start, end) spans intersect with positive length."""
    return (a[:, None, 0] < b[None, :, 1]) & (b[None, :, 0] < a[:, None, 1])


def classify_false_positives(
    ref: Any, est: Any, *, onset_tolerance_s: float = ONSET_TOLERANCE_S
) -> dict[str, np.ndarray]:
    """Indices of the unmatched estimated notes, by kind.

    Returns
    -------
    dict with int arrays ``"fp"`` (all unmatched estimates), ``"split"`` and ``"ghost"`` (disjoint
    subsets of ``"fp"``), ``"mistimed"`` and ``"leak"`` (subsets of ``"split"``); see the module
    docstring.
    """
    ref_a, est_a = as_note_array(ref), as_note_array(est)
    matching = match_notes(ref_a, est_a, onset_tolerance_s=onset_tolerance_s)
    matched_est = {e for _, e in matching}
    fp = np.array([i for i in range(len(est_a)) if i not in matched_est], dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if len(fp) == 0:
        return {"fp": fp, "split": empty, "mistimed": empty, "leak": empty, "ghost": empty}
    fp_a = est_a[fp]
    fp_pitch = np.rint(fp_a[:, 2]).astype(np.int64)

    # Split: same pitch as an overlapping reference note or matched estimate. Mistimed: a split
    # whose only such partners are reference notes left unmatched (the onset was off).
    matched_ref = {r for r, _ in matching}
    me = sorted(matched_est)
    anchors = np.concatenate([ref_a, est_a[me]]) if me else ref_a
    anchor_matched = np.array([i in matched_ref for i in range(len(ref_a))] + [True] * len(me), dtype=bool)
    is_split = np.zeros(len(fp), dtype=bool)
    is_mistimed = np.zeros(len(fp), dtype=bool)
    if len(anchors):
        same = fp_pitch[:, None] == np.rint(anchors[:, 2]).astype(np.int64)[None, :]
        partner = same & _overlaps(fp_a, anchors)
        is_split = partner.any(axis=1)
        is_mistimed = is_split & ~(partner & anchor_matched[None, :]).any(axis=1)
    # Leak: a split starting at the onset of a reference note of another pitch.
    # Ghost: a harmonic interval above an overlapping reference note.
    is_leak = np.zeros(len(fp), dtype=bool)
    is_ghost = np.zeros(len(fp), dtype=bool)
    if len(ref_a):
        diff = fp_pitch[:, None] - np.rint(ref_a[:, 2]).astype(np.int64)[None, :]
        near = np.abs(fp_a[:, None, 0] - ref_a[None, :, 0]) <= onset_tolerance_s
        is_leak = is_split & ((diff != 0) & near).any(axis=1)
        harmonic = np.isin(diff, GHOST_INTERVALS)
        is_ghost = (harmonic & _overlaps(fp_a, ref_a)).any(axis=1) & ~is_split
    return {"fp": fp, "split": fp[is_split], "mistimed": fp[is_mistimed], "leak": fp[is_leak],
            "ghost": fp[is_ghost]}


def evaluate_notes(
    ref: Any,
    est: Any,
    *,
    onset_tolerance_s: float = ONSET_TOLERANCE_S,
    frame_step_s: float = FRAME_STEP_S,
) -> Scores:
    """All counts for one piece: note matching, frame grid, false-positive kinds.

    Parameters
    ----------
    ref, est : notes
        Reference and estimated notes (see :func:`as_note_array`).

    Returns
    -------
    Scores
        Its ``note_*`` scores equal :func:`note_prf` and its ``frame_*`` scores :func:`frame_prf`.
    """
    ref_a, est_a = as_note_array(ref), as_note_array(est)
    kinds = classify_false_positives(ref_a, est_a, onset_tolerance_s=onset_tolerance_s)
    n_matched = len(est_a) - len(kinds["fp"])
    f_ref, f_est, f_hit = _frame_counts(ref_a, est_a, step_s=frame_step_s)
    return Scores(
        n_ref=len(ref_a), n_est=len(est_a), n_matched=n_matched,
        n_split=len(kinds["split"]), n_mistimed=len(kinds["mistimed"]), n_ghost=len(kinds["ghost"]),
        frame_ref=f_ref, frame_est=f_est, frame_matched=f_hit, n_leak=len(kinds["leak"]),
    )


def pool(scores: Iterable[Scores]) -> Scores:
    """Pooled scores: counts added over pieces."""
    items = list(scores)
    if not items:
        raise ParameterError("nothing to pool")
    total = items[0]
    for s in items[1:]:
        total = total + s
    return total


def mean_scores(scores: Sequence[Scores]) -> dict[str, float]:
    """Unweighted mean over pieces of each score in :data:`SCORE_NAMES`."""
    if not scores:
        raise ParameterError("nothing to average")
    return {name: float(np.mean([getattr(s, name) for s in scores])) for name in SCORE_NAMES}
