"""Why reference notes go missing: every note a transcription misses, put down to one cause.

``python -m septimbre.evaluate lost-notes [--sets trios,trios-stems,...] [--model X.onnx]`` transcribes
each piece of the sets (default: the TRIOS mixes) with the model's shipped decoder and sorts each
reference note it misses (mir_eval matching, onset +-50 ms) by the first of these causes that fits:

``doubled``
    Another reference note of the same pitch starts within the onset tolerance and was matched:
    a unison, which a merged (timbre-agnostic) transcription writes once.
``re-attack``
    The pitch was already sounding in the reference (a repeated note, or another part holding it:
    :func:`~septimbre.evaluate.metrics.reattacked`) and an estimated note of it sounds through the
    onset (started at most the tolerance after it): no new onset was found.
``overhang``
    An estimated note of the pitch sounds through the onset although the reference did not hold
    the pitch there: an earlier note ran on too long and swallowed this one.
``late``
    An estimated note of the same pitch starts after the tolerance but within
    :data:`LATE_WINDOW_S` of the onset.
``frame-only``
    No estimate of that pitch there, but the frame posterior reaches the frame threshold within
    :data:`LOOK_S` of the onset: the model heard the pitch, the decoder found no onset peak for it.
``weak``
    The frame posterior there peaks between half the frame threshold and the threshold.
``absent``
    The frame posterior stays under half the threshold: the model did not hear the note.

The first four are unisons, merging and timing, ``frame-only`` is what a decoder could still
recover, the last two are the model's. A diagnostic for choosing what to work on; thresholds are never chosen here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from septimbre.evaluate import metrics as M
from septimbre.evaluate.references import Piece
from septimbre.utils.constants import FRAME_RATE, MIDI_MIN

#: The causes, in the order they are tried.
CAUSES: tuple[str, ...] = ("doubled", "re-attack", "overhang", "late", "frame-only", "weak", "absent")
#: An estimate of the pitch starting this long after a missed onset (s) makes the note ``late``.
LATE_WINDOW_S: float = 0.3
#: Frames from the onset to this many seconds after it are read for the frame-posterior causes.
LOOK_S: float = 0.15


@dataclass(frozen=True)
class LostRow:
    """One part of one piece: its reference notes, how many were found, lost notes per cause."""

    piece: str
    part: str
    notes: int
    found: int
    causes: dict[str, int]


def lost_note_causes(ref: np.ndarray, est: np.ndarray, frame: np.ndarray, *, frame_threshold: float,
                     onset_tolerance_s: float = M.ONSET_TOLERANCE_S, frame_rate: float = FRAME_RATE
                     ) -> list[str | None]:
    """The cause (one of :data:`CAUSES`) of each missed reference note; ``None`` where it was found.

    Parameters
    ----------
    ref, est : np.ndarray [shape=(n, 3)]
        Reference and estimated notes, ``(start_s, end_s, MIDI pitch)``.
    frame : np.ndarray [shape=(84, n_frames)]
        The frame posteriorgram ``est`` was decoded from; column ``i`` at ``i / frame_rate`` s.
    frame_threshold : float
        The decoder's frame threshold.
    """
    ref_a, est_a = M.as_note_array(ref), M.as_note_array(est)
    hit = M.matched_reference(ref_a, est_a, onset_tolerance_s=onset_tolerance_s)
    reattack = M.reattacked(ref_a, onset_tolerance_s=onset_tolerance_s)
    look = max(1, int(round(LOOK_S * frame_rate)))
    out: list[str | None] = []
    for i, (start, _, pitch) in enumerate(ref_a):
        if hit[i]:
            out.append(None)
            continue
        same_ref = (ref_a[:, 2] == pitch) & (np.abs(ref_a[:, 0] - start) <= onset_tolerance_s) & hit
        same = est_a[est_a[:, 2] == pitch]
        row = int(round(pitch)) - MIDI_MIN
        first = int(round(start * frame_rate))
        cols = frame[row, max(0, first):first + look] if 0 <= row < frame.shape[0] else np.zeros(0)
        peak = float(cols.max()) if cols.size else 0.0
        if same_ref.any():
            out.append("doubled")
        elif ((same[:, 0] <= start + onset_tolerance_s) & (same[:, 1] > start)).any():
            out.append("re-attack" if reattack[i] else "overhang")
        elif ((same[:, 0] > start + onset_tolerance_s) & (same[:, 0] <= start + LATE_WINDOW_S)).any():
            out.append("late")
        elif peak >= frame_threshold:
            out.append("frame-only")
        elif peak >= frame_threshold / 2:
            out.append("weak")
        else:
            out.append("absent")
    return out


def lost_notes(pieces: Sequence[Piece], model: str | Path | None = None) -> list[LostRow]:
    """:func:`lost_note_causes` of every piece with the shipped model or ``model``, one row per part."""
    from septimbre.evaluate.stages import piece_posteriors
    from septimbre.utils.decoding import decode_notes

    rows = []
    for piece, onset, frame, settings in piece_posteriors(pieces, model):
        ref = M.as_note_array(piece.reference)
        est = M.as_note_array(decode_notes(onset, frame, **settings))
        causes = lost_note_causes(ref, est, frame, frame_threshold=settings["frame_threshold"])
        name, _, part_alone = piece.name.partition("/")  # a part alone (trios-stems) is named "piece/part"
        parts = np.asarray(piece.parts if piece.parts is not None else [part_alone or "all"] * len(ref))
        for part in sorted(set(parts.tolist())):
            mine = [c for c, p in zip(causes, parts) if p == part]
            rows.append(LostRow(name, part, len(mine), sum(c is None for c in mine),
                                {c: mine.count(c) for c in CAUSES}))
    return rows


def total_row(rows: Sequence[LostRow], piece: str = "all", part: str = "") -> LostRow:
    """The sum of ``rows`` as one row named ``piece`` / ``part``."""
    return LostRow(piece, part, sum(r.notes for r in rows), sum(r.found for r in rows),
                   {c: sum(r.causes[c] for r in rows) for c in CAUSES})


def format_lost(rows: Sequence[LostRow], *, detail: bool = True) -> str:
    """A plain-text table of :func:`lost_notes` rows (``detail=False``: only their total), a total
    line and the total's shares of the reference notes (%)."""
    head = f"{'piece':<10} {'part':<10} {'notes':>5} {'found':>5} {'lost':>5} | " + " ".join(f"{c:>10}" for c in CAUSES)
    lines = [head, "-" * len(head)]
    t = total_row(rows)
    for r in [*rows, None, t] if detail else [t]:
        if r is None:
            lines.append("-" * len(head))
            continue
        lines.append(f"{r.piece:<10} {r.part:<10} {r.notes:>5} {r.found:>5} {r.notes - r.found:>5} | "
                     + " ".join(f"{r.causes[c]:>10}" for c in CAUSES))
    if t.notes:
        pct = lambda k: f"{100.0 * k / t.notes:.1f}"  # noqa: E731
        lines.append(f"{'% of notes':<21} {'':>5} {pct(t.found):>5} {pct(t.notes - t.found):>5} | "
                     + " ".join(f"{pct(t.causes[c]):>10}" for c in CAUSES))
    return "\n".join(lines)
