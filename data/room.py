"""Room and channel augmentation of rendered stems: gain, EQ tilt, reverb, additive noise.

Everything here changes audio only; targets are untouched. All signals are mono float32 at
SAMPLE_RATE, shape (samples,) or (n_inst, samples).
"""

from __future__ import annotations

import numpy as np
from septimbre.utils.constants import SAMPLE_RATE

#: Pivot frequency of the EQ tilt, Hz (gain 0 dB there).
TILT_PIVOT_HZ = 1000.0
#: Largest boost/cut the tilt may reach at any frequency, dB.
TILT_LIMIT_DB = 12.0


def eq_tilt(x: np.ndarray, *, db_per_octave: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Spectral tilt of ``db_per_octave`` around TILT_PIVOT_HZ (zero-phase, FFT domain).

    Parameters
    ----------
    x : ndarray, shape (samples,)
    db_per_octave : float
        Positive brightens, negative darkens; clipped to +-TILT_LIMIT_DB overall.
    """
    if db_per_octave == 0.0:
        return x
    from scipy import fft as sfft

    n = x.shape[-1]
    n_fft = sfft.next_fast_len(n, real=True)
    spec = sfft.rfft(x, n=n_fft)
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    octaves = np.log2(np.maximum(f, 20.0) / TILT_PIVOT_HZ)
    gain_db = np.clip(db_per_octave * octaves, -TILT_LIMIT_DB, TILT_LIMIT_DB)
    return sfft.irfft(spec * 10.0 ** (gain_db / 20.0), n=n_fft)[..., :n].astype(np.float32)


def impulse_response(
    rng: np.random.Generator, *, rt60_s: float, predelay_s: float, damping: float, sr: int = SAMPLE_RATE
) -> np.ndarray:
    """Generated room impulse response: exponentially decaying noise, darker as it decays.

    The reverberant tail is noise with a -60 dB decay over ``rt60_s``; ``damping`` (0..1) mixes in
    a low-passed copy whose weight grows with time (high frequencies die first). The direct path is
    not included (the caller mixes dry and wet). Unit energy.
    """
    from scipy.signal import lfilter

    n = int((rt60_s * 1.2 + predelay_s) * sr) + 1
    t = np.arange(n) / sr
    noise = rng.standard_normal(n)
    low = lfilter([0.15], [1.0, -0.85], noise)
    mix = np.minimum(1.0, damping * t / max(rt60_s, 1e-3) * 2.0)
    tail = (1.0 - mix) * noise + mix * low * 2.5
    env = np.exp(-6.9078 * (t - predelay_s) / rt60_s) * (t >= predelay_s)
    ir = tail * env
    return (ir / np.sqrt(np.sum(ir**2) + 1e-12)).astype(np.float32)


def add_reverb(x: np.ndarray, ir: np.ndarray, *, wet: float) -> np.ndarray:
    """``(1 - wet) * x + wet * (x * ir)`` cut to the input length; x of shape (..., samples)."""
    from scipy.signal import fftconvolve

    n = x.shape[-1]
    w = fftconvolve(x, ir[None, :] if x.ndim == 2 else ir, mode="full", axes=-1)[..., :n]
    return ((1.0 - wet) * x + wet * w).astype(np.float32)


def colored_noise(rng: np.random.Generator, n: int, *, exponent: float) -> np.ndarray:
    """Unit-RMS noise with power spectrum ~ 1 / f**exponent (0 white, 1 pink, 2 brown)."""
    from scipy import fft as sfft

    n_fft = sfft.next_fast_len(n, real=True)
    spec = sfft.rfft(rng.standard_normal(n_fft))
    f = np.fft.rfftfreq(n_fft)
    f[0] = f[1]
    spec *= f ** (-exponent / 2.0)
    y = sfft.irfft(spec, n=n_fft)[:n]
    return (y / (np.sqrt(np.mean(y**2)) + 1e-12)).astype(np.float32)


def rms(x: np.ndarray) -> float:
    """Root mean square of a signal."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))
