"""Focal losses for posteriorgrams (computed from logits, in float32, numerically stable).

``focal(y, p) = -alpha * y * (1 - p)**gamma * log(p) - (1 - alpha) * (1 - y) * p**gamma * log(1 - p)``
averaged over every element. Targets may be soft (0..1).

The onset term may weight its negatives up at *leak* positions (:func:`leak_mask`): a pitch that is
held (sounding, not starting) while another note starts within :data:`LEAK_REACH_FRAMES`. On real
recordings most same-pitch false onsets sit there: the attack of a new note makes the onset head
fire on pitches that are already sounding.

The onset term may also weight its positives up at *re-attacks* (:func:`reattack_mask`): onsets of
a pitch that was sounding within :data:`REATTACK_REACH_FRAMES` before (a repeated note, or a pitch
another instrument holds). The leak weighting teaches the onset head to stay silent on held pitches
when something else starts; these are the held-pitch onsets that are real. Re-attacks whose pitch
sounds right up to the onset (:func:`unbroken_reattack_mask`, no break in the frame target) may get
their own weight: in FluidSynth renders they are hardly audible, so training may ignore them (0)
while weighting up the re-attacks that follow a break, as played repetitions do.

A training run may add a distillation term (:func:`distillation_loss`): cross-entropy against
the averaged posteriors of trained teacher models.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from septimbre.utils.constants import HARMONIC_INTERVALS

#: Frame (sustain or onset) and onset focal parameters (from the research design).
FRAME_GAMMA: float = 1.0
FRAME_ALPHA: float = 0.2
ONSET_GAMMA: float = 1.0
ONSET_ALPHA: float = 0.06
#: A held pitch is a leak position when any note starts within this many frames of it (either side);
#: positions within this many frames of the pitch's own onset are never leak positions.
LEAK_REACH_FRAMES: int = 2
#: An onset is a re-attack when its pitch's frame target is on in any of this many frames before it
#: (5 frames, 58 ms: the evaluation's re-attack gap, metrics.REATTACK_GAP_S, is 60 ms).
REATTACK_REACH_FRAMES: int = 5


def leak_mask(onset_target: torch.Tensor, frame_target: torch.Tensor) -> torch.Tensor:
    """Held-pitch positions near another note's onset: ``(batch, 84, frames)`` float 0/1.

    Held: frame target on, and no onset of the same pitch within ``LEAK_REACH_FRAMES`` frames.
    Near another onset: some pitch has an onset target within ``LEAK_REACH_FRAMES`` frames.
    """
    k = 2 * LEAK_REACH_FRAMES + 1
    on = onset_target.float()
    own = F.max_pool1d(on, k, stride=1, padding=LEAK_REACH_FRAMES)
    anywhere = F.max_pool1d(on.amax(dim=1, keepdim=True), k, stride=1, padding=LEAK_REACH_FRAMES)
    held = (frame_target.float() > 0.5) & (own < 0.5)
    return (held & (anywhere > 0.5)).float()


def reattack_mask(onset_target: torch.Tensor, frame_target: torch.Tensor) -> torch.Tensor:
    """Onsets of a pitch that was sounding just before: ``(batch, 84, frames)`` float 0/1.

    Marked: onset target on at ``(p, t)`` and frame target on at ``(p, t - k)`` for some
    ``1 <= k <= REATTACK_REACH_FRAMES``.
    """
    return _onsets_after_sound(onset_target, frame_target, REATTACK_REACH_FRAMES)


def unbroken_reattack_mask(onset_target: torch.Tensor, frame_target: torch.Tensor) -> torch.Tensor:
    """Onsets of a pitch sounding in the frame just before: ``(batch, 84, frames)`` float 0/1.

    Marked: onset target on at ``(p, t)`` and frame target on at ``(p, t - 1)`` -- a repetition
    with no break in the labels (a subset of :func:`reattack_mask`).
    """
    return _onsets_after_sound(onset_target, frame_target, 1)


def _onsets_after_sound(onset_target: torch.Tensor, frame_target: torch.Tensor, reach: int) -> torch.Tensor:
    """Onset target on at ``(p, t)`` and frame target on at ``(p, t - k)``, ``1 <= k <= reach``: 0/1."""
    on = frame_target.float().clamp(0.0, 1.0)
    before = F.max_pool1d(F.pad(on, (reach, 0)), reach, stride=1)[..., : on.shape[-1]]
    return ((onset_target.float() > 0.5) & (before > 0.5)).float()


def spread_onsets(onset_target: torch.Tensor, spread: float, frames: int = 1) -> torch.Tensor:
    """Onset target with its neighbours softened in: ``(batch, 84, frames)`` float.

    A frame ``d`` frames (1 <= ``d`` <= ``frames``) before or after an onset (``onset_target >
    0.5``) of the same pitch gets at least ``spread ** d``; onsets keep their value. An onset label
    marks one frame (11.6 ms), while the audible attack of a bowed or blown note, and the annotation
    of a real one, can sit a frame or two away.
    """
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    on = onset_target.float()
    hit = (on > 0.5).float()
    soft = on
    for d in range(frames, 0, -1):  # the nearest onset's value wins: max over reaches
        near = F.max_pool1d(hit, 2 * d + 1, stride=1, padding=d)
        soft = torch.maximum(soft, float(spread) ** d * near)
    return soft


def harmonic_mask(frame_target: torch.Tensor) -> torch.Tensor:
    """Positions at a harmonic interval above a sounding note: ``(batch, 84, frames)`` float 0/1.

    Pitch row ``p`` at frame ``t`` is marked when some pitch ``p - k`` (``k`` in
    :data:`HARMONIC_INTERVALS`) is on in ``frame_target`` at ``t``, whether or not ``p`` itself is.
    """
    on = frame_target.float() > 0.5
    mask = torch.zeros_like(on)
    for k in HARMONIC_INTERVALS:
        if k < on.shape[1]:
            mask[:, k:, :] |= on[:, :-k, :]
    return mask.float()


def _focal_terms(
    logits: torch.Tensor, target: torch.Tensor, *, gamma: float, alpha: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Element-wise positive and negative focal terms (float32, the shape of ``logits``)."""
    z = logits.float()
    y = target.float()
    log_p = F.logsigmoid(z)
    log_q = F.logsigmoid(-z)
    p = torch.exp(log_p)
    q = torch.exp(log_q)
    pos = -alpha * y * q.pow(gamma) * log_p
    neg = -(1.0 - alpha) * (1.0 - y) * p.pow(gamma) * log_q
    return pos, neg


def focal_loss_with_logits(
    logits: torch.Tensor, target: torch.Tensor, *, gamma: float, alpha: float
) -> torch.Tensor:
    """Mean binary focal loss of ``sigmoid(logits)`` against ``target`` (same shape), float32 scalar."""
    pos, neg = _focal_terms(logits, target, gamma=gamma, alpha=alpha)
    return (pos + neg).mean()


@dataclass(frozen=True)
class TranscriptionLoss:
    """Frame and onset focal losses and the objective ``frame + onset_weight * onset`` (float32 scalars).

    ``distill`` is the distillation term (:func:`distillation_loss`, unweighted) where the objective
    includes one, else None.
    """

    total: torch.Tensor
    frame: torch.Tensor
    onset: torch.Tensor
    distill: torch.Tensor | None = None


def distillation_loss(
    onset_logits: torch.Tensor,
    frame_logits: torch.Tensor,
    teacher_onset: torch.Tensor,
    teacher_frame: torch.Tensor,
) -> torch.Tensor:
    """Binary cross-entropy of a student's logits against a teacher's posteriors, float32 scalar.

    ``teacher_onset`` and ``teacher_frame`` are probabilities in [0, 1] (e.g. the mean of several
    trained models' sigmoid outputs), all tensors ``(batch, 84, frames)``; returns the mean
    cross-entropy of the frame outputs plus that of the onset outputs. Plain cross-entropy, not the
    focal loss of the labels: its minimum is at the teacher's own probability, where a focal loss
    with alpha < 0.5 would pull a soft target down (for alpha 0.2, gamma 1, a teacher's 0.5 has its
    minimum near 0.3), shrinking posteriors the teachers already learned under that loss.
    """
    frame = F.binary_cross_entropy_with_logits(frame_logits.float(), teacher_frame.float())
    onset = F.binary_cross_entropy_with_logits(onset_logits.float(), teacher_onset.float())
    return frame + onset


def transcription_loss(
    onset_logits: torch.Tensor,
    frame_logits: torch.Tensor,
    onset_target: torch.Tensor,
    frame_target: torch.Tensor,
    *,
    onset_weight: float = 1.0,
    leak_weight: float = 1.0,
    positive_weight: float = 1.0,
    harmonic_weight: float = 1.0,
    reattack_weight: float = 1.0,
    unbroken_reattack_weight: float | None = None,
    onset_spread: float = 0.0,
    onset_spread_frames: int = 1,
) -> TranscriptionLoss:
    """Focal losses on ``(batch, 84, frames)`` logits; frame target = sustain or onset.

    ``onset_weight`` scales the onset term of ``total`` only; ``leak_weight`` multiplies the onset
    term's negatives at :func:`leak_mask` positions in ``total`` only; ``positive_weight`` multiplies
    the positive terms of both losses in ``total`` only (raising the focal alpha's share of
    positives: ``alpha * w / (alpha * w + 1 - alpha)``); ``harmonic_weight`` multiplies both terms of
    both losses at :func:`harmonic_mask` positions in ``total`` only (the ghost-or-real-note
    decision); ``reattack_weight`` multiplies the onset term's positives at :func:`reattack_mask`
    positions in ``total`` only, except at :func:`unbroken_reattack_mask` positions when
    ``unbroken_reattack_weight`` is given (which may be 0: those positives are then ignored);
    ``onset_spread`` (0..1) gives the frames ``d`` <= ``onset_spread_frames`` before and after each
    onset the soft target ``onset_spread ** d`` in the objective's onset term (:func:`spread_onsets`;
    0, the default, keeps one-frame onsets). ``frame`` and ``onset`` are reported plain (unweighted), so runs with different
    weights compare.
    """
    f_pos, f_neg = _focal_terms(frame_logits, frame_target, gamma=FRAME_GAMMA, alpha=FRAME_ALPHA)
    pos, neg = _focal_terms(onset_logits, onset_target, gamma=ONSET_GAMMA, alpha=ONSET_ALPHA)
    frame = (f_pos + f_neg).mean()
    onset = (pos + neg).mean()
    # Element weights of the objective, one factor per option (1 where an option is off):
    # positives x positive_weight; every term at harmonic positions x harmonic_weight; onset
    # negatives at leak positions x leak_weight; onset positives at re-attacks x reattack_weight.
    harmonic = 1.0 if harmonic_weight == 1.0 else 1.0 + (harmonic_weight - 1.0) * harmonic_mask(frame_target)
    leak = 1.0 if leak_weight == 1.0 else 1.0 + (leak_weight - 1.0) * leak_mask(onset_target, frame_target)
    objective_frame = ((positive_weight * f_pos + f_neg) * harmonic).mean()
    unbroken_w = reattack_weight if unbroken_reattack_weight is None else unbroken_reattack_weight
    if reattack_weight == 1.0 and unbroken_w == 1.0:
        again = 1.0
    else:
        unbroken = unbroken_reattack_mask(onset_target, frame_target)
        broken = reattack_mask(onset_target, frame_target) * (1.0 - unbroken)
        again = 1.0 + (reattack_weight - 1.0) * broken + (unbroken_w - 1.0) * unbroken
    if onset_spread > 0.0:
        pos, neg = _focal_terms(onset_logits, spread_onsets(onset_target, onset_spread, onset_spread_frames),
                                gamma=ONSET_GAMMA, alpha=ONSET_ALPHA)
    objective_onset = ((positive_weight * pos * again + neg * leak) * harmonic).mean()
    return TranscriptionLoss(total=objective_frame + onset_weight * objective_onset, frame=frame, onset=onset)
