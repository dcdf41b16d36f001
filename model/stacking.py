"""Harmonic stacking: shifted copies of a log-frequency spectrum aligned on the fundamental.

Convention: input ``(batch, 1, n_bins, frames)`` with ``bins_per_octave`` bins per octave, lowest bin
first. Output channel ``c`` holds the input shifted so that output bin ``b`` reads input bin
``b + shifts[c]`` (the partial of ratio ``harmonics[c]`` of a fundamental on bin ``b``), and rows that
fall outside the input read ``pad_value``. Implemented as one constant Pad plus one Slice per harmonic
and a Concat (no scatter, exports to any ONNX opset).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from septimbre.utils.constants import BINS_PER_OCTAVE
from septimbre.utils.errors import ParameterError
from torch import nn

#: One sub-harmonic and the first seven harmonics.
DEFAULT_HARMONICS: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)


def harmonic_shifts(harmonics: Sequence[float], *, bins_per_octave: int = BINS_PER_OCTAVE) -> list[int]:
    """Bin shift of each harmonic ratio: ``round(bins_per_octave * log2(h))``.

    >>> harmonic_shifts((0.5, 1, 2, 3, 4, 5, 6, 7))
    [-36, 0, 36, 57, 72, 84, 93, 101]
    """
    if any(h <= 0 for h in harmonics):
        raise ParameterError(f"harmonic ratios must be positive, got {list(harmonics)}")
    return [int(round(bins_per_octave * math.log2(h))) for h in harmonics]


class HarmonicStacking(nn.Module):
    """Stack shifted copies of a spectrum along the channel axis.

    Parameters
    ----------
    harmonics : sequence of float
        Ratios to the fundamental (1 = the spectrum itself).
    n_bins_out : int
        Output bins (the lowest ``n_bins_out`` fundamentals).
    bins_per_octave : int
        Resolution of the input spectrum.
    pad_value : float
        Value read outside the input (the log-spectrum's silence level).
    """

    def __init__(
        self,
        harmonics: Sequence[float] = DEFAULT_HARMONICS,
        *,
        n_bins_out: int,
        bins_per_octave: int = BINS_PER_OCTAVE,
        pad_value: float = 0.0,
    ) -> None:
        super().__init__()
        self.shifts = harmonic_shifts(harmonics, bins_per_octave=bins_per_octave)
        self.n_bins_out = int(n_bins_out)
        self.pad_value = float(pad_value)

    def padding(self, n_bins: int) -> tuple[int, int]:
        """Rows padded (below, above) an ``n_bins`` input so that every shifted slice exists."""
        below = max(0, -min(self.shifts))
        above = max(0, max(self.shifts) + self.n_bins_out - n_bins)
        return below, above

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, n_bins, frames) -> (batch, 1, below + n_bins + above, frames)`` with ``pad_value``."""
        below, above = self.padding(x.shape[-2])
        return F.pad(x, (0, 0, below, above), value=self.pad_value)

    def gather(self, padded: torch.Tensor) -> torch.Tensor:
        """Slices of a :meth:`pad` output: ``-> (batch, len(harmonics), n_bins_out, frames)``.

        Any elementwise map applied between :meth:`pad` and :meth:`gather` acts as if applied after
        stacking, on far fewer elements (and the padding goes through the same map).
        """
        below = max(0, -min(self.shifts))
        parts = [padded[:, :, below + s : below + s + self.n_bins_out, :] for s in self.shifts]
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, n_bins, frames) -> (batch, len(harmonics), n_bins_out, frames)``."""
        return self.gather(self.pad(x))
