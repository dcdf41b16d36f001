"""Exportable constant-Q transform computed octave by octave with conv1d only.

Conventions
-----------
- Input: mono audio ``(batch, samples)`` or ``(batch, 1, samples)`` float32 at ``sr`` Hz
  (default :data:`~septimbre.utils.constants.SAMPLE_RATE`).
- Output: ``(batch, n_octaves * bins_per_octave, frames)``, lowest bin first; bin ``b`` is centred at
  ``fmin * 2 ** (b / bins_per_octave)`` Hz (default ``fmin`` = :data:`CQT_FMIN_HZ`, so the centre bin
  of MIDI pitch ``p`` is ``1 + 3 * (p - MIDI_MIN)``).
- Frame ``i`` is centred at input sample ``hop_length * i``; ``T`` samples give ``ceil(T / hop_length)``
  frames for every ``T >= 1`` (the signal is zero outside ``[0, T)``).
- A unit-amplitude sine exactly on a bin frequency has magnitude 0.5 on that bin (kernels are
  window-normalised complex exponentials).

How it is computed
------------------
Only the top octave's 36 complex kernels exist (real and imaginary parts as 72 conv1d output
channels, a fixed buffer, not trained). They run at the full rate with stride ``hop_length``; then the
signal is low-passed and decimated 2x (a fixed zero-phase FIR: a short equiripple low-pass applied
forward and backward, i.e. convolved with its own reverse, one symmetric filter run as a block-strided
conv1d, see :mod:`septimbre.model.decimate`), the same kernels run again with half the stride and give
the next octave down, and so on. Each stage keeps ``ceil(n / 2)`` samples and symmetric zero padding
of half a kernel, so every octave yields exactly ``ceil(T / hop_length)`` frames. The exported graph
is conv1d, Pad, Transpose, Reshape, Slice (with a few shape ops for the decimators' padding), Mul,
Add, Concat and ReduceSum.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from septimbre.model.decimate import decimate, decimator_bank
from septimbre.utils.constants import (
    BINS_PER_OCTAVE,
    CQT_FMIN_HZ,
    HOP_LENGTH,
    N_OCTAVES,
    SAMPLE_RATE,
)
from septimbre.utils.errors import ParameterError
from torch import nn

#: Taps of the base low-pass of the 2x decimator (applied forward and backward: 2 * 35 - 1 taps).
DECIMATOR_BASE_TAPS: int = 35
#: Pass-band edge / stop-band edge of the decimator, as fractions of the input Nyquist frequency.
#: The analysed band of the next octave ends at ~0.39 Nyquist; content above 0.61 Nyquist would alias
#: into it, and is attenuated by more than 140 dB.
DECIMATOR_PASS_EDGE: float = 0.39
DECIMATOR_STOP_EDGE: float = 0.61
#: Floor added under the square root of the magnitude (float32-safe, far below any audible level).
MAGNITUDE_EPS: float = 1e-12


def decimator_taps(
    base_taps: int = DECIMATOR_BASE_TAPS,
    *,
    pass_edge: float = DECIMATOR_PASS_EDGE,
    stop_edge: float = DECIMATOR_STOP_EDGE,
) -> np.ndarray:
    """Zero-phase low-pass for 2x decimation: an equiripple FIR convolved with its reverse.

    Parameters
    ----------
    base_taps : int
        Odd length of the one-way equiripple filter.
    pass_edge, stop_edge : float
        Band edges as fractions of the Nyquist frequency (0 < pass_edge < stop_edge < 1).

    Returns
    -------
    np.ndarray [shape=(2 * base_taps - 1,), dtype float64]
        Symmetric taps with unit DC gain.
    """
    from scipy import signal

    if base_taps < 3 or base_taps % 2 == 0:
        raise ParameterError(f"base_taps must be odd and >= 3, got {base_taps}")
    if not 0.0 < pass_edge < stop_edge < 1.0:
        raise ParameterError(f"need 0 < pass_edge < stop_edge < 1, got {pass_edge}, {stop_edge}")
    h = signal.remez(base_taps, [0.0, pass_edge / 2, stop_edge / 2, 0.5], [1.0, 0.0], weight=[1.0, 10.0])
    h = h / h.sum()
    taps = np.convolve(h, h[::-1])
    return taps / taps.sum()


def cqt_kernels(
    *,
    sr: int = SAMPLE_RATE,
    fmin: float,
    n_bins: int = BINS_PER_OCTAVE,
    bins_per_octave: int = BINS_PER_OCTAVE,
    filter_scale: float = 1.0,
    window: str = "hann",
) -> np.ndarray:
    """Centred complex CQT kernels of one octave, zero-padded to a common odd length.

    Parameters
    ----------
    sr : int
        Sample rate the kernels run at, Hz.
    fmin : float
        Centre frequency of the first kernel, Hz.
    n_bins, bins_per_octave : int
        Number of kernels and their spacing.
    filter_scale : float
        Multiplies the kernel lengths (Q factor); 1 = one bin of bandwidth.
    window : str
        scipy window name.

    Returns
    -------
    np.ndarray [shape=(n_bins, length), dtype complex128]
        Kernel ``k`` is ``w[n] / sum(w) * exp(2j pi f_k n / sr)`` with ``n`` centred on the middle tap.
    """
    from scipy import signal

    q = filter_scale / (2.0 ** (1.0 / bins_per_octave) - 1.0)
    freqs = fmin * 2.0 ** (np.arange(n_bins) / bins_per_octave)
    if freqs[-1] >= sr / 2:
        raise ParameterError(f"top kernel {freqs[-1]:.1f} Hz is above the Nyquist frequency of {sr} Hz")
    lengths = np.ceil(q * sr / freqs).astype(int)
    lengths += 1 - lengths % 2  # odd, so that the centre is a sample
    width = int(lengths.max())
    kernels = np.zeros((n_bins, width), dtype=np.complex128)
    for k, (f, n) in enumerate(zip(freqs, lengths)):
        w = signal.get_window(window, int(n), fftbins=False)
        t = np.arange(n) - (n - 1) // 2
        start = (width - n) // 2
        kernels[k, start : start + n] = w / w.sum() * np.exp(2j * np.pi * f * t / sr)
    return kernels


class OctaveCQT(nn.Module):
    """Constant-Q transform with fixed kernels, computed octave by octave (see module docstring).

    Parameters
    ----------
    sr : int
        Input sample rate, Hz.
    hop_length : int
        Frame hop at ``sr``, samples; must be divisible by ``2 ** (n_octaves - 1)``.
    fmin : float
        Centre frequency of the lowest bin, Hz.
    n_octaves, bins_per_octave : int
        Layout of the output bins.
    filter_scale : float
        Kernel length multiplier (Q factor).
    window : str
        Window of the kernels.
    decimator_base_taps : int
        One-way length of the decimation low-pass.
    """

    def __init__(
        self,
        *,
        sr: int = SAMPLE_RATE,
        hop_length: int = HOP_LENGTH,
        fmin: float = CQT_FMIN_HZ,
        n_octaves: int = N_OCTAVES,
        bins_per_octave: int = BINS_PER_OCTAVE,
        filter_scale: float = 1.0,
        window: str = "hann",
        decimator_base_taps: int = DECIMATOR_BASE_TAPS,
    ) -> None:
        super().__init__()
        factor = 2 ** (n_octaves - 1)
        if hop_length % factor:
            raise ParameterError(f"hop_length {hop_length} must be divisible by 2**(n_octaves-1) = {factor}")
        self.sr = int(sr)
        self.hop_length = int(hop_length)
        self.n_octaves = int(n_octaves)
        self.bins_per_octave = int(bins_per_octave)
        self.n_bins = self.n_octaves * self.bins_per_octave
        self.fmin = float(fmin)
        top_fmin = fmin * 2.0 ** (n_octaves - 1)
        k = cqt_kernels(
            sr=sr, fmin=top_fmin, n_bins=bins_per_octave, bins_per_octave=bins_per_octave,
            filter_scale=filter_scale, window=window,
        )
        # Conv1d computes a correlation: sum_n x[c + n] * w[n]. For the CQT inner product
        # sum_t x[c + t] * conj(kernel[t]) the real part is Re(kernel) and the imaginary part -Im(kernel).
        weight = np.concatenate([k.real, -k.imag], axis=0)[:, None, :]
        self.register_buffer("kernels", torch.tensor(weight, dtype=torch.float32))
        taps = decimator_taps(decimator_base_taps)
        self.register_buffer("decimator", torch.tensor(taps[None, None, :], dtype=torch.float32))
        # Derived from ``decimator``; not saved with the weights.
        self.register_buffer("decimator_bank", decimator_bank(taps), persistent=False)
        self.kernel_pad = (weight.shape[-1] - 1) // 2

    def decimate(self, x: torch.Tensor) -> torch.Tensor:
        """Zero-phase low-pass and keep every other sample: ``(batch, 1, n) -> (batch, 1, ceil(n / 2))``.

        Output sample ``j`` is centred on input sample ``2 * j``; computed as a block-strided conv
        (:mod:`septimbre.model.decimate`), the same numbers as a plain strided conv1d with the taps.
        """
        return decimate(x, self.decimator_bank)

    def complex_parts(self, audio: torch.Tensor) -> torch.Tensor:
        """Real and imaginary CQT parts.

        Parameters
        ----------
        audio : torch.Tensor [shape=(batch, samples) or (batch, 1, samples)]

        Returns
        -------
        torch.Tensor [shape=(batch, n_octaves, 2, bins_per_octave, frames)]
            Octaves lowest first; index 0 / 1 of the third axis is the real / imaginary part.
        """
        x = audio.unsqueeze(1) if audio.dim() == 2 else audio
        if x.dim() != 3 or x.shape[1] != 1:
            raise ParameterError(f"audio must be (batch, samples) or (batch, 1, samples), got {tuple(audio.shape)}")
        hop = self.hop_length
        # Zero-pad to whole frames, so every octave's length is an exact multiple of its hop (a
        # simple shape for the exporter's symbolic reasoning); after each decimation the samples
        # past the signal's own decimated length are zeroed again, so every value equals that of
        # the unpadded signal with implicit zeros beyond its end.
        valid = x.shape[-1]
        frames = (valid + hop - 1) // hop
        x = F.pad(x, (0, frames * hop - valid))
        octaves = []
        for octave in range(self.n_octaves):
            if octave:
                x = self.decimate(x)
                hop //= 2
                valid = (valid + 1) // 2
                x = x * (torch.arange(x.shape[-1], device=x.device) < valid).to(x.dtype)
            octaves.append(F.conv1d(x, self.kernels, stride=hop, padding=self.kernel_pad))
        octaves.reverse()  # lowest octave first
        y = torch.cat(octaves, dim=1)  # (batch, n_octaves * 2 * bpo, frames)
        return y.reshape(y.shape[0], self.n_octaves, 2, self.bins_per_octave, y.shape[-1])

    def power(self, audio: torch.Tensor) -> torch.Tensor:
        """Squared magnitude ``(batch, n_bins, frames)``, lowest bin first."""
        parts = self.complex_parts(audio)
        p = (parts * parts).sum(dim=2)
        return p.reshape(p.shape[0], self.n_bins, p.shape[-1])

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Magnitude CQT.

        Parameters
        ----------
        audio : torch.Tensor [shape=(batch, samples) or (batch, 1, samples)], float32 at ``sr`` Hz

        Returns
        -------
        torch.Tensor [shape=(batch, n_bins, ceil(samples / hop_length))]
            ``sqrt(re**2 + im**2 + eps)``, lowest bin first.
        """
        return torch.sqrt(self.power(audio) + MAGNITUDE_EPS)

    def bin_frequencies(self) -> np.ndarray:
        """Centre frequency of every output bin, Hz, lowest first ``(n_bins,)``."""
        return self.fmin * 2.0 ** (np.arange(self.n_bins) / self.bins_per_octave)
