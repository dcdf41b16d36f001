"""Where septimbre's notes come from: the decoder's onset stage versus its onset-less recovery.

``python -m septimbre.evaluate decoder-stages [--model X.onnx] [--trios DIR]`` decodes each TRIOS
mix twice with the model's shipped thresholds — with and without the recovery stage (notes grown
from frame activity where no onset peak fired) — and prints, per piece, the note counts and note
P/R/F1 of both, plus the onset error (estimate minus reference, seconds) of the mistimed false
positives (unmatched notes overlapping an unmatched reference note of the same pitch) of the
decoding the model ships (recovery on or off, as its JSON's ``recover_onsetless`` says). A diagnostic
for choosing what to train against; thresholds are never chosen here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from septimbre.evaluate import metrics as M
from septimbre.evaluate.references import Piece


@dataclass(frozen=True)
class StageRow:
    """One piece: (notes, P, R, F1) with and without recovery; onset errors of mistimed notes (s)."""

    piece: str
    full: tuple[int, float, float, float]
    onset_only: tuple[int, float, float, float]
    mistimed_offsets_s: np.ndarray


def mistimed_offsets(ref: np.ndarray, est: np.ndarray) -> np.ndarray:
    """Onset errors (est - ref, seconds) of the mistimed false positives of ``est`` against ``ref``.

    Each mistimed estimate is paired with the overlapping same-pitch reference note whose onset is
    nearest. Both arrays are ``(n, 3)`` = (start_s, end_s, MIDI pitch).
    """
    mistimed = M.classify_false_positives(ref, est)["mistimed"]
    matched_ref = {r for r, _ in M.match_notes(ref, est)}
    free = np.array([i not in matched_ref for i in range(len(ref))], dtype=bool)
    partner = (free[None, :] & (np.rint(est[mistimed, 2])[:, None] == np.rint(ref[:, 2])[None, :])
               & M._overlaps(est[mistimed], ref))
    out = []
    for j, ok in zip(mistimed, partner):
        if ok.any():
            cand = ref[ok, 0]
            out.append(est[j, 0] - cand[np.argmin(np.abs(cand - est[j, 0]))])
    return np.asarray(out, dtype=np.float64)


def piece_posteriors(pieces: Iterable[Piece], model: str | Path | None = None
                     ) -> Iterator[tuple[Piece, np.ndarray, np.ndarray, dict[str, Any]]]:
    """Each piece with the shipped model's (or ``model``'s) posteriorgrams of its audio and the
    model's shipped decoder settings: ``(piece, onset, frame, settings)``, the posteriorgrams
    ``[shape=(84, n_frames)]`` as :meth:`septimbre.Transcriber.posteriors` gives them, ``settings``
    the keyword arguments of :func:`septimbre.utils.decoding.decode_notes`."""
    from septimbre.inference import Transcriber

    transcriber = Transcriber(model)
    settings = transcriber.decoder_settings().kwargs()
    for piece in pieces:
        onset, frame = transcriber.posteriors(str(piece.audio_path))
        yield piece, onset, frame, settings


def decoder_stages(pieces: list[Piece], model: str | Path | None = None) -> list[StageRow]:
    """Decode each piece with and without the recovery stage (see the module docstring)."""
    from septimbre.utils.decoding import decode_notes

    rows = []
    for piece, onset, frame, settings in piece_posteriors(pieces, model):
        ref = M.as_note_array(piece.reference)
        stats = {}
        shipped_recover = bool(settings.get("recover_onsetless", True))
        for recover in (True, False):
            est = M.as_note_array(decode_notes(onset, frame, **{**settings, "recover_onsetless": recover}))
            stats[recover] = (len(est), *M.note_prf(ref, est))
            if recover == shipped_recover:
                offsets = mistimed_offsets(ref, est)
        rows.append(StageRow(piece.name, stats[True], stats[False], offsets))
    return rows


def format_stages(rows: list[StageRow]) -> str:
    """A plain-text table of :func:`decoder_stages` rows."""
    head = (f"{'piece':<12} {'notes':>6} {'P':>6} {'R':>6} {'F1':>6} | {'onset-stage only: notes':>24} "
            f"{'P':>6} {'R':>6} {'F1':>6} | {'mistimed':>8} {'late':>5} {'median s':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        off = r.mistimed_offsets_s
        med = f"{np.median(off):+.3f}" if len(off) else "-"
        lines.append(f"{r.piece:<12} {r.full[0]:>6} {r.full[1]:>6.3f} {r.full[2]:>6.3f} {r.full[3]:>6.3f} | "
                     f"{r.onset_only[0]:>24} {r.onset_only[1]:>6.3f} {r.onset_only[2]:>6.3f} {r.onset_only[3]:>6.3f} | "
                     f"{len(off):>8} {int((off > 0).sum()):>5} {med:>9}")
    return "\n".join(lines)
