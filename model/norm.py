"""Energy normalisation of a power spectrogram per clip, then log and a learnable affine map.

``y = scale * log(p / max(mean(p), tiny) + eps) + bias`` where ``mean`` is taken over all bins and
frames of each clip (a Parseval-style loudness estimate), so a clip's gain does not change ``y``
(up to the ``eps`` floor). ``eps`` sets the silence floor relative to the mean bin power; both
constants are ordinary float32 numbers (no subnormals); ``tiny`` enters as a clamp (ONNX ``Max``),
which graph optimisers keep, where ``x + 1e-20`` would be folded away and digital silence would give
NaN. The log domain part is split out (:meth:`EnergyNorm.log_ratio`) so that
harmonic stacking can pad with the exact silence value before the affine map.
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: Silence floor relative to the clip's mean bin power (-60 dB).
ENERGY_EPS: float = 1e-6
#: Guard against division by zero for digital silence (power units; float32-normal).
ENERGY_TINY: float = 1e-20


class EnergyNorm(nn.Module):
    """Per-clip energy normalisation + log + learnable scalar scale and bias (2 parameters).

    Parameters
    ----------
    eps : float
        Floor added to the normalised power before the log.
    """

    def __init__(self, *, eps: float = ENERGY_EPS) -> None:
        super().__init__()
        self.eps = float(eps)
        self.scale = nn.Parameter(torch.tensor(0.25))
        self.bias = nn.Parameter(torch.tensor(1.0))

    @property
    def floor(self) -> float:
        """Value of :meth:`log_ratio` for a silent bin: ``log(eps)``."""
        return math.log(self.eps)

    def log_ratio(self, power: torch.Tensor) -> torch.Tensor:
        """``log(p / mean_clip(p) + eps)``; power ``(batch, ..., bins, frames)`` non-negative."""
        dims = tuple(range(1, power.dim()))
        # clamp (an ONNX Max), not "+ tiny": graph optimisers drop additions of tiny constants.
        mean = torch.clamp(power.mean(dim=dims, keepdim=True), min=ENERGY_TINY)
        return torch.log(power / mean + self.eps)

    def affine(self, x: torch.Tensor) -> torch.Tensor:
        """Learnable ``scale * x + bias``."""
        return x * self.scale + self.bias

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        """Normalised log power, same shape as ``power``."""
        return self.affine(self.log_ratio(power))
