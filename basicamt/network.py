"""BasicAMT: the small timbre-agnostic note network (audio in, onset and frame posteriorgrams out).

Pipeline (shapes for a batch of ``B`` clips of ``T`` samples at SAMPLE_RATE, ``n = ceil(T / HOP_LENGTH)``):

1. :class:`~septimbre.model.cqt.OctaveCQT` power, fixed kernels: ``(B, 288, n)`` (8 octaves x 36 bins,
   lowest bin a third of a semitone below C1).
2. :class:`~septimbre.model.norm.EnergyNorm` log-ratio to the local mean power (a ~2.3 s sliding
   window, so loudness does not matter and streaming is exact).
3. :class:`~septimbre.model.stacking.HarmonicStacking` with ratios 0.5, 1..7: ``(B, 8, 252, n)``
   (7 octaves of fundamentals), then the learnable scalar affine map of EnergyNorm.
4. ``early``: 3x3 conv; ``context``: a bottlenecked residual block whose middle conv is 25x1 dilated
   3 along frequency (spans two octaves each way): 1x1 down, dilated conv, 1x3 up (time context),
   added back. A 25x3 middle kernel cost 1.6x the whole graph's onnxruntime CPU time for no
   receptive-field gain over 25x1 followed by 1x3.
5. ``neck``: 1x1 conv over [stacked spectrum, residual features].
6. ``pitch``: 5x5 conv striding 3 along frequency, 252 bins -> 84 pitches (output pitch ``k`` is
   centred on bin ``1 + 3k``, the semitone's centre bin); ``frame_head``: 3x3 conv -> frame logits.
   In the ``"pitch"`` layout (the default) ``early`` strides to 84 pitches itself, there are
   ``context_blocks`` context blocks (25x1 undilated at pitch resolution), optionally
   ``time_blocks`` residual blocks whose middle conv is ``1 x time_kernel`` dilated along time
   (longer time reach for slow attacks and held notes), and a 3x3 neck.
7. ``onset_hidden`` + ``onset_head``: two 3x3 convs over [pitch features, sigmoid(frame logits)];
   with ``onset_spectral_channels`` > 0, over [pitch features, ``onset_spectral`` (a conv over the
   stacked spectrum striding to 84 pitches, the onset branch's own view of it), sigmoid(frame logits)].

Every full-resolution (252-bin) layer is kept cheap, since cost scales with 252 x its weights; the
capacity sits at pitch resolution (84 rows), where a weight costs a third. All convolutions have explicit
symmetric padding; BatchNorm follows every hidden conv (folded into the convs at export). The CQT and
the energy normalisation always run in float32, also under autocast.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from septimbre.basicamt.config import BasicAMTConfig
from septimbre.model.blocks import ConvBNReLU
from septimbre.model.cqt import OctaveCQT
from septimbre.model.norm import EnergyNorm
from septimbre.model.stacking import HarmonicStacking
from septimbre.utils.constants import BINS_PER_OCTAVE, BINS_PER_SEMITONE, N_OCTAVES, N_PITCHES
from septimbre.utils.errors import ParameterError
from torch import nn

__all__ = ["GROWABLE_WIDTHS", "MAX_PARAMETERS", "BasicAMT", "BasicAMTConfig", "n_parameters", "widen_from"]

#: Trainable parameter budget of the shipped architecture.
MAX_PARAMETERS: int = 20_000

#: Channel widths :func:`widen_from` may grow (every other architecture field must match).
GROWABLE_WIDTHS: tuple[str, ...] = ("early_channels", "context_channels", "neck_channels", "onset_channels",
                                    "onset_spectral_channels")


class BasicAMT(nn.Module):
    """Timbre-agnostic transcriber; see the module docstring for the layers.

    Parameters
    ----------
    config : BasicAMTConfig or None
        Architecture (defaults when None).
    """

    def __init__(self, config: BasicAMTConfig | None = None) -> None:
        super().__init__()
        cfg = config or BasicAMTConfig()
        self.config = cfg
        n_bins_out = (N_OCTAVES - 1) * BINS_PER_OCTAVE  # 7 octaves of fundamentals: 252 bins
        if n_bins_out != N_PITCHES * BINS_PER_SEMITONE:
            raise ParameterError("CQT layout and pitch range disagree")
        n_h = len(cfg.harmonics)
        c1, cc, cn, co = cfg.early_channels, cfg.context_channels, cfg.neck_channels, cfg.onset_channels
        kf, kt = cfg.context_kernel
        self.cqt = OctaveCQT(filter_scale=cfg.cqt_filter_scale, window=cfg.cqt_window)
        self.energy = EnergyNorm(eps=cfg.energy_eps, window_frames=cfg.energy_window_frames)
        self.stacking = HarmonicStacking(cfg.harmonics, n_bins_out=n_bins_out, pad_value=self.energy.floor)
        if cfg.layout == "bins":
            self.early = ConvBNReLU(n_h, c1, tuple(cfg.early_kernel))
            self.context = _context_block(c1, cc, (kf, kt), cfg.context_dilation)
            self.neck = ConvBNReLU(n_h + c1, cn, (1, 1))
            self.pitch = _to_pitch_rows(cn, cn, tuple(cfg.pitch_kernel))
        else:  # "pitch": stride to 84 rows at once, everything after runs at pitch resolution
            self.early = _to_pitch_rows(n_h, c1, tuple(cfg.early_kernel))
            self.context = nn.ModuleList(
                _context_block(c1, cc, (kf, kt), cfg.context_dilation) for _ in range(cfg.context_blocks))
            self.time_context = nn.ModuleList(
                _time_block(c1, cc, cfg.time_kernel, d) for d in cfg.block_time_dilations())
            self.neck = ConvBNReLU(c1, cn, (3, 3))
        cd = cfg.onset_spectral_channels
        if cd:
            self.onset_spectral = _to_pitch_rows(n_h, cd, tuple(cfg.onset_spectral_kernel))
        self.frame_head = nn.Conv2d(cn, 1, (3, 3), padding=(1, 1))
        self.onset_hidden = ConvBNReLU(cn + cd + 1, co, (3, 3))
        self.onset_head = nn.Conv2d(co, 1, (3, 3), padding=(1, 1))

    @classmethod
    def from_config(cls, config: BasicAMTConfig | dict[str, Any] | None = None) -> BasicAMT:
        """Build from a config dataclass or its dict form (as stored in the model JSON)."""
        if isinstance(config, dict):
            config = BasicAMTConfig.from_dict(config)
        return cls(config)

    @staticmethod
    def upgrade_architecture(architecture: dict[str, Any], file_format: int) -> dict[str, Any]:
        """The architecture dict of a model JSON in today's terms: files of format 1 were written
        before ``layout`` and ``context_blocks`` existed and always describe the 252-bin ("bins")
        trunk with one context block."""
        if file_format < 2 and "layout" not in architecture:
            return {"layout": "bins", "context_blocks": 1, **architecture}
        return dict(architecture)

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return n_parameters(self)

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """Stacked normalised log-CQT ``(batch, n_harmonics, 252, frames)``, float32."""
        if audio.dim() != 2:
            raise ParameterError(f"audio must be (batch, samples), got {tuple(audio.shape)}")
        with torch.autocast("cpu", enabled=False):
            power = self.cqt.power(audio.float())  # (B, 288, n)
            ratio = self.energy.log_ratio(power.unsqueeze(1))  # (B, 1, 288, n)
            # affine map on the padded 288-bin map, then the 8 shifted slices (same as affine after)
            return self.stacking.gather(self.energy.affine(self.stacking.pad(ratio)))

    def logits(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Onset and frame logits, each ``(batch, 84, ceil(samples / HOP_LENGTH))``.

        Parameters
        ----------
        audio : torch.Tensor [shape=(batch, samples)], float32 at SAMPLE_RATE
        """
        x = self.features(audio)
        if self.training and getattr(self, "channels_last", False):
            x = x.contiguous(memory_format=torch.channels_last)
        h = self.early(x)
        if self.config.layout == "bins":
            h = h + self.context(h)
            pitch = self.pitch(self.neck(torch.cat([x.to(h.dtype), h], dim=1)))  # (B, cn, 84, n)
        else:
            for block in self.context:
                h = h + block(h)
            for block in self.time_context:
                h = h + block(h)
            pitch = self.neck(h)  # (B, cn, 84, n)
        frame = self.frame_head(pitch)  # (B, 1, 84, n)
        if self.config.onset_spectral_channels:
            pitch = torch.cat([pitch, self.onset_spectral(x).to(pitch.dtype)], dim=1)  # (B, cn + cd, 84, n)
        onset = self.onset_head(self._onset_features(pitch, torch.sigmoid(frame)))
        return onset.squeeze(1), frame.squeeze(1)

    def _onset_features(self, pitch: torch.Tensor, frame_prob: torch.Tensor) -> torch.Tensor:
        """``onset_hidden`` over ``cat([pitch, frame_prob])``: ``(B, c, 84, n)``, ``(B, 1, 84, n)`` ->
        ``(B, co, 84, n)``, where ``pitch`` holds the neck features and, when the model has them, the
        onset branch's spectral features (``c = cn + cd``).

        In training it is the plain conv -> BatchNorm -> ReLU on the concatenation. In eval the
        BatchNorm is folded into the weights and the conv is split into one over the pitch features
        and one over the frame probabilities, summed: the same numbers, but a conv with ``c``
        input channels runs in onnxruntime's blocked-layout kernels while one with ``c + 1`` does
        not (it took a tenth of the exported graph's time).
        """
        if self.training:
            return self.onset_hidden(torch.cat([pitch, frame_prob], dim=1))
        conv, bn = self.onset_hidden[0], self.onset_hidden[1]
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        weight = conv.weight * scale[:, None, None, None]
        bias = bn.bias - bn.running_mean * scale
        kw = {"stride": conv.stride, "padding": conv.padding, "dilation": conv.dilation}
        y = F.conv2d(pitch, weight[:, :-1].to(pitch.dtype), bias.to(pitch.dtype), **kw)
        y = y + F.conv2d(frame_prob, weight[:, -1:].to(pitch.dtype), **kw)
        return torch.relu(y)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Onset and frame probabilities, each ``(batch, 84, ceil(samples / HOP_LENGTH))``."""
        onset, frame = self.logits(audio)
        return torch.sigmoid(onset), torch.sigmoid(frame)


def _to_pitch_rows(in_channels: int, out_channels: int, kernel: tuple[int, int]) -> ConvBNReLU:
    """Conv striding BINS_PER_SEMITONE along frequency, 252 bins -> 84 pitch rows, with output row k
    centred on bin 3k + 1 (the semitone's centre bin): frequency padding (kernel - 1) // 2 - 1."""
    kf, kt = kernel
    return ConvBNReLU(in_channels, out_channels, (kf, kt), stride=(BINS_PER_SEMITONE, 1),
                      padding=((kf - 1) // 2 - (BINS_PER_SEMITONE - 1) // 2, (kt - 1) // 2))


def _context_block(channels: int, bottleneck: int, kernel: tuple[int, int], dilation: int) -> nn.Sequential:
    """Residual branch: 1x1 down to ``bottleneck``, ``kernel`` dilated along frequency, 1x3 back up."""
    return nn.Sequential(
        ConvBNReLU(channels, bottleneck, (1, 1)),
        ConvBNReLU(bottleneck, bottleneck, kernel, dilation=(dilation, 1)),
        ConvBNReLU(bottleneck, channels, (1, 3)),
    )


def _time_block(channels: int, bottleneck: int, kernel: int, dilation: int) -> nn.Sequential:
    """Residual branch: 1x1 down to ``bottleneck``, ``1 x kernel`` dilated along time, 1x1 back up."""
    return nn.Sequential(
        ConvBNReLU(channels, bottleneck, (1, 1)),
        ConvBNReLU(bottleneck, bottleneck, (1, kernel), dilation=(1, dilation)),
        ConvBNReLU(bottleneck, channels, (1, 1)),
    )


def quiet_residual_branch(branch: nn.Sequential, gain: float = 1e-2) -> None:
    """Make a new residual branch start as (almost) nothing: its last BatchNorm scale becomes
    ``gain`` and its shift 0, so ``h + branch(h)`` is ``h`` up to ~``gain`` and a grown model first
    behaves like the one it was grown from (the scale stays trainable; at exactly 0 the ReLU would
    pass it no gradient)."""
    bn = branch[-1][1]
    with torch.no_grad():
        bn.weight.fill_(gain)
        bn.bias.zero_()


def widen_from(model: BasicAMT, source: BasicAMT) -> list[str]:
    """Copy the weights of a narrower ``source`` into ``model`` so that both compute the same thing.

    ``model`` may have more channels in any of :data:`GROWABLE_WIDTHS` (and more time blocks, whose
    parameters are left to the caller). Every copied tensor lands in the leading slice of its wider
    counterpart; a new output channel keeps its fresh initialisation, and every conv gets zero
    weights on its new input channels, so new channels cannot change the old outputs until training
    moves those weights (their gradient is not zero, since the new channels are). The one
    concatenation, ``onset_hidden``'s ``[neck features (neck_channels), frame probability (1)]``,
    keeps the frame channel last. In eval mode ``model(x)`` then equals ``source(x)``.

    ``onset_hidden``'s inputs are ``[neck features, onset spectral features, frame probability]``:
    the source's neck and spectral channels land at the start of their groups, new ones of either
    group get zero weights. A model growing the onset branch's spectral view from none
    (``onset_spectral_channels`` 0 in ``source``) gets a fresh ``onset_spectral`` conv, ignored at first.

    Returns the names of ``model``'s tensors that ``source`` does not have (new time blocks, a new
    ``onset_spectral`` conv).
    Raises :class:`ParameterError` when a source tensor is larger than its counterpart or missing.
    """
    src = source.state_dict()
    dst = model.state_dict()
    extra = sorted(set(src) - set(dst))
    if extra:
        raise ParameterError(f"the source has tensors the target lacks: {extra}")
    cn_old, cn_new = source.config.neck_channels, model.config.neck_channels
    cd_old = source.config.onset_spectral_channels
    with torch.no_grad():
        for name, t in dst.items():
            if name not in src:
                continue
            s = src[name]
            if s.dim() != t.dim() or any(a > b for a, b in zip(s.shape, t.shape)):
                raise ParameterError(f"{name}: source {tuple(s.shape)} does not fit in {tuple(t.shape)}")
            if s.shape == t.shape:
                t.copy_(s)
            elif name == "onset_hidden.0.weight":  # inputs [neck features, spectral features, frame prob.]
                t[:, cn_old:cn_new] = 0  # new neck channels are ignored at first
                t[:, cn_new + cd_old:-1] = 0  # and so are new spectral channels
                t[:s.shape[0], :cn_old] = s[:, :cn_old]
                t[:s.shape[0], cn_new:cn_new + cd_old] = s[:, cn_old:cn_old + cd_old]
                t[:s.shape[0], -1] = s[:, -1]  # the frame probability stays the last input
            else:
                if t.dim() == 4:  # conv weight (out, in, kf, kt): new inputs are ignored at first
                    t[:, s.shape[1]:] = 0
                t[tuple(slice(0, n) for n in s.shape)] = s
    return sorted(set(dst) - set(src))


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
