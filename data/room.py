"""Room and channel augmentation of rendered stems: body resonances, weak fundamentals, gain, EQ tilt, reverb, noise.

Everything here changes audio only; targets are untouched. All signals are mono float32 at
SAMPLE_RATE, shape (samples,) or (n_inst, samples).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from septimbre.utils.constants import SAMPLE_RATE
from septimbre.utils.errors import ParameterError

#: Pivot frequency of the EQ tilt, Hz (gain 0 dB there).
TILT_PIVOT_HZ = 1000.0
#: Largest boost/cut the tilt may reach at any frequency, dB.
TILT_LIMIT_DB = 12.0


def zero_phase_eq(x: np.ndarray, gain_db_at: Callable[[np.ndarray], np.ndarray], *, sr: int) -> np.ndarray:
    """``x`` (..., samples) filtered by the real gain ``gain_db_at(freqs_hz)`` dB, float32, same shape.

    Zero-phase, in the FFT domain, padded to a fast FFT length so the filter barely wraps around.
    """
    from scipy import fft as sfft

    n = x.shape[-1]
    n_fft = sfft.next_fast_len(n, real=True)
    spec = sfft.rfft(x, n=n_fft)
    gain_db = gain_db_at(np.fft.rfftfreq(n_fft, 1.0 / sr))
    return sfft.irfft(spec * 10.0 ** (gain_db / 20.0), n=n_fft)[..., :n].astype(np.float32)


def eq_tilt(x: np.ndarray, *, db_per_octave: float, limit_db: float = TILT_LIMIT_DB,
            sr: int = SAMPLE_RATE) -> np.ndarray:
    """Spectral tilt of ``db_per_octave`` around TILT_PIVOT_HZ (zero-phase, FFT domain).

    Parameters
    ----------
    x : ndarray, shape (samples,)
    db_per_octave : float
        Positive brightens, negative darkens.
    limit_db : float
        The gain is clipped to +-``limit_db`` dB at every frequency.
    """
    if db_per_octave == 0.0:
        return x

    def gain_db(f: np.ndarray) -> np.ndarray:
        octaves = np.log2(np.maximum(f, 20.0) / TILT_PIVOT_HZ)
        return np.clip(db_per_octave * octaves, -limit_db, limit_db)

    return zero_phase_eq(x, gain_db, sr=sr)


def body_resonances(
    rng: np.random.Generator, *, n_peaks: tuple[int, int], freq_hz: tuple[float, float],
    gain_db: tuple[float, float], q: tuple[float, float],
) -> np.ndarray:
    """Random resonances of an instrument body: ``(n, 3)`` rows of (centre Hz, gain dB, Q).

    ``n`` is uniform in ``n_peaks`` (inclusive); centres and Q log-uniform, gains uniform.
    """
    n = int(rng.integers(int(n_peaks[0]), int(n_peaks[1]) + 1))
    f0 = np.exp(rng.uniform(np.log(freq_hz[0]), np.log(freq_hz[1]), n))
    g = rng.uniform(gain_db[0], gain_db[1], n)
    qs = np.exp(rng.uniform(np.log(q[0]), np.log(q[1]), n))
    return np.stack([f0, g, qs], axis=1)


def body_eq(x: np.ndarray, peaks: np.ndarray, *, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Filter ``x`` (samples,) through fixed resonances (zero-phase, FFT domain).

    Each row of ``peaks`` = (centre Hz, gain dB, Q) adds a peak of that height in dB, with a
    Lorentzian shape of half-height bandwidth centre / Q. A static body like this turns the pitch
    vibrato of a note into amplitude modulation of its partials, each with its own depth and phase
    (every partial sweeps across a different slope), as on real string and wind instruments;
    soundfont vibrato alone moves the pitch with a fixed spectrum.
    """
    if len(peaks) == 0:
        return x

    def gain_db(f: np.ndarray) -> np.ndarray:
        total = np.zeros_like(f)
        for f0, g, q in peaks:
            total += g / (1.0 + ((f - f0) / (0.5 * f0 / q)) ** 2)
        return total

    return zero_phase_eq(x, gain_db, sr=sr)


def weaken_fundamentals(x: np.ndarray, *, cutoff_hz: float, depth_db: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Attenuate the low fundamentals of a stem: a zero-phase shelf below ``cutoff_hz``.

    The gain is 0 dB at and above ``cutoff_hz`` and falls linearly in log-frequency to
    ``-depth_db`` one octave below it (and stays there), so a note whose fundamental lies an
    octave or more below the cutoff keeps its second partial (at ``2 f0``) nearly intact while its
    fundamental loses ``depth_db``: the balance of a bassoon or a low string, whose partials 2-3
    outweigh a weak fundamental, which the soundfonts' samples rarely have.
    """
    if depth_db <= 0.0:
        return x
    if cutoff_hz <= 0.0:
        raise ParameterError("cutoff_hz must be > 0")

    def gain_db(f: np.ndarray) -> np.ndarray:
        below = np.log2(cutoff_hz / np.maximum(f, 1.0))
        return -depth_db * np.clip(below, 0.0, 1.0)

    return zero_phase_eq(x, gain_db, sr=sr)


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
