"""Architecture config of :class:`~septimbre.basicamt.network.BasicAMT` (a frozen, JSON-able dataclass)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from septimbre.model.norm import ENERGY_EPS, ENERGY_WINDOW_FRAMES
from septimbre.model.stacking import DEFAULT_HARMONICS
from septimbre.utils.errors import ParameterError


#: Trunk layouts of BasicAMT (see BasicAMTConfig.layout).
LAYOUTS: tuple[str, ...] = ("bins", "pitch")


@dataclass(frozen=True)
class BasicAMTConfig:
    """Architecture of :class:`BasicAMT` (JSON-able; stored in the model's ``.json``).

    Attributes
    ----------
    layout : str
        ``"bins"``: the trunk runs at CQT resolution (252 bins, 3 per semitone) and a late conv
        strides to 84 pitches. ``"pitch"``: the first conv strides to 84 pitches, and everything
        after it runs at pitch resolution (a third of the cost per weight). The defaults are the
        basicamt-2 "pitch" trunk (the shipped basicamt-3 adds ``time_blocks=1``);
        ``basicamt/configs/train_bins_2000.json`` spells out the earlier "bins" trunk.
    harmonics : tuple of float
        Harmonic-stacking ratios.
    early_channels : int
        Channels of the early conv and of the residual context block.
    early_kernel : (int, int)
        (frequency, time) kernel of the early conv (in ``"pitch"`` it strides 3 along frequency,
        output row k centred on CQT bin 3k + 1).
    context_channels : int
        Bottleneck channels inside the context block (1x1 in, dilated conv, 1x3 out).
    context_kernel : (int, int)
        (frequency, time) kernel of the dilated conv.
    context_dilation : int
        Frequency dilation of the context conv (rows of the map it runs on): 25 taps dilated 3 span
        two octaves at 252 bins; at pitch resolution dilation 1 does.
    context_blocks : int
        Residual context blocks (``"pitch"`` layout only; ``"bins"`` has one).
    time_blocks : int
        Residual time-context blocks after the context blocks (``"pitch"`` layout only; 1 in the
        shipped basicamt-3, 0 in basicamt-2 and by default, so files without the key load as
        before): 1x1 down to ``context_channels``, a ``1 x time_kernel`` conv dilated
        ``time_dilation`` along time, 1x1 back up. Each widens the time reach by
        ``(time_kernel - 1) // 2 * time_dilation`` frames each way, for slow attacks and held notes.
    time_kernel, time_dilation : int
        Taps and time dilation of the time-context conv.
    time_dilations : tuple of int
        Per-block time dilations overriding ``time_dilation`` (empty = every block uses
        ``time_dilation``; else one entry per time block), so a grown block can reach further.
    neck_channels : int
        Channels of the neck (1x1 over [stacked spectrum, context] in ``"bins"``; 3x3 over the context
        in ``"pitch"``) and of the pitch-resolution features the heads read.
    pitch_kernel : (int, int)
        Kernel of the conv that strides 3 along frequency (252 bins -> 84 pitches; ``"bins"`` only).
    onset_channels : int
        Hidden channels of the onset branch.
    onset_spectral_channels : int
        Channels of the onset branch's own view of the stacked spectrum (``"pitch"`` layout only; 0,
        the default and every model up to basicamt-7, leaves it out): a conv over the harmonic stack
        striding 3 along frequency, as the early conv does, whose output joins the onset branch's
        input between the neck features and the frame probability. The onset head then sees
        fine-grained spectral change at each pitch's partials directly, not only through the trunk
        the frame head shares (Basic Pitch gives its onset branch such a conv).
    onset_spectral_kernel : (int, int)
        (frequency, time) kernel of that conv.
    cqt_filter_scale : float
        Q multiplier of the CQT kernels.
    cqt_window : str
        Window of the CQT kernels.
    energy_eps : float
        Silence floor of the energy normalisation (relative to the mean bin power).
    energy_window_frames : int
        Frames of the sliding loudness window of the energy normalisation (odd; 0 = whole clip).
    """

    layout: str = "pitch"
    harmonics: tuple[float, ...] = DEFAULT_HARMONICS
    early_channels: int = 16
    early_kernel: tuple[int, int] = (5, 3)
    context_channels: int = 8
    context_kernel: tuple[int, int] = (25, 1)
    context_dilation: int = 1
    context_blocks: int = 2
    time_blocks: int = 0
    time_kernel: int = 5
    time_dilation: int = 3
    time_dilations: tuple[int, ...] = ()
    neck_channels: int = 16
    pitch_kernel: tuple[int, int] = (5, 5)
    onset_channels: int = 8
    onset_spectral_channels: int = 0
    onset_spectral_kernel: tuple[int, int] = (5, 5)
    cqt_filter_scale: float = 1.0
    cqt_window: str = "hann"
    energy_eps: float = ENERGY_EPS
    energy_window_frames: int = ENERGY_WINDOW_FRAMES

    def block_time_dilations(self) -> tuple[int, ...]:
        """Time dilation of each time-context block, in order (length ``time_blocks``)."""
        if self.time_dilations:
            return tuple(int(d) for d in self.time_dilations)
        return (int(self.time_dilation),) * self.time_blocks

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BasicAMTConfig:
        """Build from a (JSON-decoded) dict; unknown keys are an error, lists become tuples."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ParameterError(f"unknown BasicAMT config keys: {sorted(unknown)}")
        fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**fixed)

    def __post_init__(self) -> None:
        if self.time_blocks < 0 or (self.layout == "bins" and self.time_blocks):
            raise ParameterError(f"time_blocks must be >= 0, and 0 in the 'bins' layout; got {self.time_blocks}")
        if self.time_kernel < 1 or self.time_kernel % 2 == 0 or self.time_dilation < 1:
            raise ParameterError(f"time_kernel must be odd and >= 1 and time_dilation >= 1; got "
                                 f"{self.time_kernel}, {self.time_dilation}")
        if self.time_dilations and (len(self.time_dilations) != self.time_blocks
                                    or any(int(d) < 1 for d in self.time_dilations)):
            raise ParameterError(f"time_dilations must be empty or hold one dilation >= 1 per time block "
                                 f"({self.time_blocks}); got {self.time_dilations}")
        if self.onset_spectral_channels < 0 or (self.layout == "bins" and self.onset_spectral_channels):
            raise ParameterError(f"onset_spectral_channels must be >= 0, and 0 in the 'bins' layout; got "
                                 f"{self.onset_spectral_channels}")
        kf, kt = self.onset_spectral_kernel
        if kf < 3 or kf % 2 == 0 or kt < 1 or kt % 2 == 0:
            raise ParameterError(f"onset_spectral_kernel must be (odd >= 3, odd >= 1); got {self.onset_spectral_kernel}")
        if self.layout not in LAYOUTS:
            raise ParameterError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.context_blocks < 1 or (self.layout == "bins" and self.context_blocks != 1):
            raise ParameterError(f"context_blocks must be >= 1, and 1 in the 'bins' layout; got "
                                 f"{self.context_blocks} with layout {self.layout!r}")
