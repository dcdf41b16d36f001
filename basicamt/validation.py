"""Validation helpers shared by training (quick metrics) and threshold tuning.

Posteriorgrams of a validation set are computed once (float32, eval mode) and kept as numpy
``(84, frames)`` arrays next to the clip's reference notes (from its per-instrument rolls, so
overlapping same-pitch notes of different instruments stay separate). Notes starting in the first
:data:`EDGE_S` seconds of a clip are ignored on both sides (a crop can start in the middle of a note).

Note scores: ``mir_eval.transcription`` matching (onset +-50 ms, offsets ignored, via
:mod:`septimbre.evaluate.metrics`), pooled over clips (matched / estimated / reference counts added).
Frame scores: precision / recall / F1 of ``frame >= threshold`` against the frame target, per
(pitch, frame) cell, pooled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from septimbre.utils.constants import MIDI_MIN, frames_to_seconds

logger = logging.getLogger(__name__)

#: Notes starting this close to the start of a clip are not scored, seconds.
EDGE_S: float = 0.1


@dataclass(frozen=True)
class ValClip:
    """Posteriorgrams and references of one validation clip.

    Attributes
    ----------
    onset, frame : np.ndarray [shape=(84, frames)], float32 probabilities
    frame_target : np.ndarray [shape=(84, frames)], bool
    ref_notes : np.ndarray [shape=(n, 3)]
        (start_s, end_s, midi pitch) rows.
    """

    onset: np.ndarray
    frame: np.ndarray
    frame_target: np.ndarray
    ref_notes: np.ndarray


@dataclass(frozen=True)
class QuickScores:
    """Pooled note-level and frame-level precision / recall / F1, and the mean over clips of the
    note F1 (clips with reference notes only; NaN when none has any)."""

    note_precision: float
    note_recall: float
    note_f1: float
    frame_precision: float
    frame_recall: float
    frame_f1: float
    note_f1_mean: float = float("nan")


def rolls_to_notes(stem_rolls: np.ndarray) -> np.ndarray:
    """Per-instrument rolls ``(n_inst, 84, frames)`` with 0/1/2 codes -> ``(n, 3)`` note array.

    A note starts at an onset frame (2) or at a sustain frame (1) after silence and lasts while the
    following frames are sustain.
    """
    rows = []
    for roll in stem_rolls:
        active = roll > 0
        if not active.any():
            continue
        onset = roll == 2
        prev = np.zeros_like(active)
        prev[:, 1:] = active[:, :-1]
        starts = onset | (active & ~prev)
        for p, s in zip(*np.nonzero(starts)):
            e = s + 1
            r = roll[p]
            while e < r.shape[0] and r[e] == 1:
                e += 1
            rows.append((frames_to_seconds(s), frames_to_seconds(e), MIDI_MIN + p))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3)


def collect(
    model, dataset, *, max_clips: int | None = None, batch_size: int = 4
) -> tuple[list[ValClip], dict[str, float]]:
    """Run ``model`` (float32, eval mode, no grad) over the first ``max_clips`` items of ``dataset``.

    Returns
    -------
    clips : list of ValClip
    losses : dict
        Mean ``val_loss``, ``val_frame_loss``, ``val_onset_loss`` (the training focal losses) per clip.
    """
    import torch
    from septimbre.model.losses import transcription_loss

    n = len(dataset) if max_clips is None else min(len(dataset), int(max_clips))
    was_training = model.training
    model.eval()
    clips: list[ValClip] = []
    sums = {"val_loss": 0.0, "val_frame_loss": 0.0, "val_onset_loss": 0.0}
    try:
        with torch.no_grad():
            for start in range(0, n, batch_size):
                items = [dataset[i] for i in range(start, min(n, start + batch_size))]
                audio = torch.stack([it["audio"] for it in items]).float()
                onset_t = torch.stack([it["onset"] for it in items]).float()
                frame_t = torch.stack([it["frame"] for it in items]).float()
                onset_l, frame_l = model.logits(audio)
                loss = transcription_loss(onset_l, frame_l, onset_t, frame_t)
                k = len(items)
                sums["val_loss"] += float(loss.total) * k
                sums["val_frame_loss"] += float(loss.frame) * k
                sums["val_onset_loss"] += float(loss.onset) * k
                onset, frame = torch.sigmoid(onset_l), torch.sigmoid(frame_l)
                for j, it in enumerate(items):
                    target = frame_t[j].numpy() > 0.5
                    if "stem_rolls" in it:
                        ref = rolls_to_notes(it["stem_rolls"].numpy())
                    else:  # merged targets only: sustain = 1, onset = 2
                        merged = target.astype(np.uint8) + (onset_t[j].numpy() > 0.5)
                        ref = rolls_to_notes(merged[None])
                    clips.append(ValClip(onset[j].numpy(), frame[j].numpy(), target, ref))
    finally:
        model.train(was_training)
    losses = {k: v / max(1, len(clips)) for k, v in sums.items()}
    return clips, losses


def _note_counts(ref: np.ndarray, est: np.ndarray) -> tuple[int, int, int]:
    from septimbre.evaluate.metrics import match_notes

    ref = ref[ref[:, 0] >= EDGE_S] if len(ref) else ref
    est = est[est[:, 0] >= EDGE_S] if len(est) else est
    return len(match_notes(ref, est)) if len(ref) and len(est) else 0, len(est), len(ref)


def _prf(tp: int, n_est: int, n_ref: int) -> tuple[float, float, float]:
    p = tp / n_est if n_est else 0.0
    r = tp / n_ref if n_ref else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(
    clips: list[ValClip], *, onset_threshold: float, frame_threshold: float, min_note_ms: float, **decode_kwargs
) -> QuickScores:
    """Pooled note and frame scores of ``clips`` decoded with the runtime's ``decode_notes``, and
    the mean of the per-clip note F1 over the clips that have reference notes."""
    from septimbre.utils.decoding import decode_notes

    tp = n_est = n_ref = 0
    per_clip: list[float] = []
    ftp = fest = fref = 0
    for c in clips:
        notes = decode_notes(
            c.onset, c.frame, onset_threshold=onset_threshold, frame_threshold=frame_threshold,
            min_note_ms=min_note_ms, **decode_kwargs,
        )
        est = np.asarray([(n.start_s, n.end_s, n.pitch) for n in notes], dtype=np.float64).reshape(-1, 3)
        a, b, d = _note_counts(c.ref_notes, est)
        tp, n_est, n_ref = tp + a, n_est + b, n_ref + d
        if d:
            per_clip.append(_prf(a, b, d)[2])
        pred = c.frame >= frame_threshold
        ftp += int((pred & c.frame_target).sum())
        fest += int(pred.sum())
        fref += int(c.frame_target.sum())
    np_, nr, nf = _prf(tp, n_est, n_ref)
    fp, fr, ff = _prf(ftp, fest, fref)
    mean = float(np.mean(per_clip)) if per_clip else float("nan")
    return QuickScores(np_, nr, nf, fp, fr, ff, mean)
