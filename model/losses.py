"""Focal losses for posteriorgrams (computed from logits, in float32, numerically stable).

``focal(y, p) = -alpha * y * (1 - p)**gamma * log(p) - (1 - alpha) * (1 - y) * p**gamma * log(1 - p)``
averaged over every element. Targets may be soft (0..1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: Frame (sustain or onset) and onset focal parameters (from the research design).
FRAME_GAMMA: float = 1.0
FRAME_ALPHA: float = 0.2
ONSET_GAMMA: float = 1.0
ONSET_ALPHA: float = 0.06


def focal_loss_with_logits(
    logits: torch.Tensor, target: torch.Tensor, *, gamma: float, alpha: float
) -> torch.Tensor:
    """Mean binary focal loss of ``sigmoid(logits)`` against ``target`` (same shape), float32 scalar."""
    z = logits.float()
    y = target.float()
    log_p = F.logsigmoid(z)
    log_q = F.logsigmoid(-z)
    p = torch.exp(log_p)
    q = torch.exp(log_q)
    pos = -alpha * y * q.pow(gamma) * log_p
    neg = -(1.0 - alpha) * (1.0 - y) * p.pow(gamma) * log_q
    return (pos + neg).mean()


@dataclass(frozen=True)
class TranscriptionLoss:
    """Frame and onset focal losses and the objective ``frame + onset_weight * onset`` (float32 scalars)."""

    total: torch.Tensor
    frame: torch.Tensor
    onset: torch.Tensor


def transcription_loss(
    onset_logits: torch.Tensor,
    frame_logits: torch.Tensor,
    onset_target: torch.Tensor,
    frame_target: torch.Tensor,
    *,
    onset_weight: float = 1.0,
) -> TranscriptionLoss:
    """Focal losses on ``(batch, 84, frames)`` logits; frame target = sustain or onset.

    ``onset_weight`` scales the onset term of ``total`` only (``onset`` is reported unweighted).
    """
    frame = focal_loss_with_logits(frame_logits, frame_target, gamma=FRAME_GAMMA, alpha=FRAME_ALPHA)
    onset = focal_loss_with_logits(onset_logits, onset_target, gamma=ONSET_GAMMA, alpha=ONSET_ALPHA)
    return TranscriptionLoss(total=frame + onset_weight * onset, frame=frame, onset=onset)
