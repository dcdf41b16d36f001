"""Energy normalisation of a power spectrogram, then log and a learnable affine map.

``y = scale * log(p / max(mean(p), tiny) + eps) + bias`` where ``mean`` is a Parseval-style loudness
estimate: the mean power over all bins and over a sliding window of ``window_frames`` frames centred on
each frame (``window_frames = 0``: over the whole clip). So a gain does not change ``y`` (up to the
``eps`` floor). The sliding window is what lets windowed (streaming) inference reproduce whole-file
inference exactly away from window seams: the statistic at a frame depends on audio within
``window_frames // 2`` frames only, not on how long the input is. ``eps`` sets the silence floor relative to the mean bin power; both
constants are ordinary float32 numbers (no subnormals); ``tiny`` enters as a clamp (ONNX ``Max``),
which graph optimisers keep, where ``x + 1e-20`` would be folded away and digital silence would give
NaN. The log domain part is split out (:meth:`EnergyNorm.log_ratio`) so that
harmonic stacking can pad with the exact silence value before the affine map.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: Silence floor relative to the clip's mean bin power (-60 dB).
ENERGY_EPS: float = 1e-6
#: Sliding loudness window of the shipped models, frames (~2.3 s at FRAME_RATE); odd so it is centred.
ENERGY_WINDOW_FRAMES: int = 201
#: Guard against division by zero for digital silence (power units; float32-normal).
ENERGY_TINY: float = 1e-20


class EnergyNorm(nn.Module):
    """Per-clip energy normalisation + log + learnable scalar scale and bias (2 parameters).

    Parameters
    ----------
    eps : float
        Floor added to the normalised power before the log.
    """

    def __init__(self, *, eps: float = ENERGY_EPS, window_frames: int = 0) -> None:
        super().__init__()
        if window_frames < 0 or (window_frames and window_frames % 2 == 0):
            raise ValueError(f"window_frames must be 0 or odd, got {window_frames}")
        self.eps = float(eps)
        self.window_frames = int(window_frames)
        self.scale = nn.Parameter(torch.tensor(0.25))
        self.bias = nn.Parameter(torch.tensor(1.0))

    @property
    def floor(self) -> float:
        """Value of :meth:`log_ratio` for a silent bin: ``log(eps)``."""
        return math.log(self.eps)

    def log_ratio(self, power: torch.Tensor) -> torch.Tensor:
        """``log(p / mean(p) + eps)``; power ``(batch, ..., bins, frames)`` non-negative."""
        if self.window_frames:
            # Mean over bins per frame, then a centred moving average over time (AveragePool in ONNX);
            # edges average over the frames that exist (count_include_pad=False).
            per_frame = power.mean(dim=tuple(range(1, power.dim() - 1)))  # (batch, frames)
            local = F.avg_pool1d(
                per_frame.unsqueeze(1), self.window_frames, stride=1,
                padding=self.window_frames // 2, count_include_pad=False,
            )  # (batch, 1, frames)
            mean = local.reshape(power.shape[:1] + (1,) * (power.dim() - 2) + power.shape[-1:])
        else:
            mean = power.mean(dim=tuple(range(1, power.dim())), keepdim=True)
        # clamp (an ONNX Max), not "+ tiny": graph optimisers drop additions of tiny constants.
        mean = torch.clamp(mean, min=ENERGY_TINY)
        return torch.log(power / mean + self.eps)

    def affine(self, x: torch.Tensor) -> torch.Tensor:
        """Learnable ``scale * x + bias``."""
        return x * self.scale + self.bias

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        """Normalised log power, same shape as ``power``."""
        return self.affine(self.log_ratio(power))
