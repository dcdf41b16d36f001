"""A source-filter instrument synthesizer: stems whose timbre no soundfont has.

Every soundfont instrument is a handful of recorded samples, pitch-shifted: its spectral envelope
moves with the note, and three or four soundfonts give the same few timbres per program again and
again. Real instruments differ: a bassoon or violin body has resonances fixed in hertz, so which
partial is strongest changes from note to note, and vibrato modulates each partial's amplitude.
This module draws a new instrument per stem:

- a *source*: harmonic partials (stretched by an inharmonicity coefficient for struck and plucked
  voices) with a random slope in dB per octave of partial number, optionally weak even partials
  (clarinet-like) or a weak fundamental (bassoon-like), and a fixed random ripple per partial;
- a *note envelope*: for sustained voices an attack whose upper partials arrive later, a slow
  decay and a release; for struck/plucked voices a near-instant attack, exponential decay that is
  faster for higher partials and lower notes ring longer, and a damper release;
- a *filter* fixed in hertz (1-4 formant peaks and a high-frequency roll-off) applied to the whole
  stem, so pitch vibrato turns into amplitude modulation of the partials;
- breath or bow noise under sustained notes and a short noise burst at attacks.

Pure numpy; deterministic given the random generator. Output at SAMPLE_RATE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from septimbre.data.notes import ScoreNote
from septimbre.data.room import rms, zero_phase_eq
from septimbre.utils.constants import SAMPLE_RATE, midi_to_hz
from septimbre.utils.errors import ParameterError

#: Highest partial frequency rendered, Hz (below SAMPLE_RATE / 2 with room for vibrato).
MAX_PARTIAL_HZ = 8000.0
#: Most partials per note.
MAX_PARTIALS = 48
#: Amplitudes and envelopes are computed every this many samples and interpolated.
ENVELOPE_STEP = 32


@dataclass(frozen=True)
class SynthVoice:
    """One drawn instrument (fixed for a stem).

    Attributes
    ----------
    sustained : bool
        Bowed/blown envelope (True) or struck/plucked (False).
    partial_db : ndarray, shape (MAX_PARTIALS,)
        Level of partial k+1 relative to the fundamental's source level, dB (source slope, even
        partial cut, weak fundamental and fixed ripple together).
    inharmonicity : float
        B of ``f_k = k f0 sqrt(1 + B k^2)``; 0 for sustained voices.
    attack_s : float
        Time for the fundamental to reach its level (sustained) or the strike's rise (struck).
    attack_spread : float
        Partial k's attack lasts ``attack_s * (1 + attack_spread * log2 k)``.
    sustain_tau_s : float
        Slow decay time constant while a sustained note is held, seconds.
    ring_t60_s : float
        Struck/plucked: T60 of the fundamental of MIDI 60, seconds (scaled by 2^(-(pitch-60)/24)).
    partial_decay : float
        Struck/plucked: partial k decays ``1 + partial_decay (k - 1)`` times faster.
    release_s : float
        Time for a released note to fall 60 dB, seconds.
    brightness_db_per_oct : float
        Extra slope per octave of partial number at velocity 127 against velocity 80.
    formants : ndarray, shape (n, 3)
        Fixed filter peaks: centre Hz, gain dB, width (octaves, Gaussian sigma).
    rolloff_hz, rolloff_db_per_oct : float
        High-frequency roll-off of the filter above ``rolloff_hz``.
    noise_db : float
        Breath/bow noise level against the harmonic part, dB (-inf: none).
    noise_band_hz : tuple of float
        Centre and width (octaves) of the noise's band.
    transient_db : float
        Attack noise burst peak against the note's peak, dB (-inf: none).
    transient_s : float
        Decay time constant of the burst, seconds.
    """

    sustained: bool
    partial_db: np.ndarray
    inharmonicity: float
    attack_s: float
    attack_spread: float
    sustain_tau_s: float
    ring_t60_s: float
    partial_decay: float
    release_s: float
    brightness_db_per_oct: float
    formants: np.ndarray
    rolloff_hz: float
    rolloff_db_per_oct: float
    noise_db: float
    noise_band_hz: tuple[float, float]
    transient_db: float
    transient_s: float


def draw_voice(rng: np.random.Generator, *, sustained: bool) -> SynthVoice:
    """Draw one instrument. ``sustained`` picks the bowed/blown or the struck/plucked envelope."""
    k = np.arange(1, MAX_PARTIALS + 1)
    slope = rng.uniform(-12.0, -2.0)
    partial_db = slope * np.log2(k) + rng.normal(0.0, 2.5, MAX_PARTIALS)
    partial_db[0] = 0.0
    if sustained and rng.random() < 0.25:  # cylindrical bore: weak even partials
        partial_db[1::2] -= rng.uniform(6.0, 25.0)
    if rng.random() < 0.3:  # weak fundamental
        partial_db[0] -= rng.uniform(3.0, 15.0)
    n_formants = int(rng.integers(1, 5))
    formants = np.stack([
        np.exp(rng.uniform(np.log(200.0), np.log(4000.0), n_formants)),
        rng.uniform(3.0, 20.0, n_formants),
        rng.uniform(0.1, 0.7, n_formants),
    ], axis=1)
    return SynthVoice(
        sustained=sustained,
        partial_db=partial_db.astype(np.float32),
        inharmonicity=0.0 if sustained else float(np.exp(rng.uniform(np.log(1e-5), np.log(4e-4)))),
        attack_s=rng.uniform(0.015, 0.12) if sustained else rng.uniform(0.001, 0.006),
        attack_spread=rng.uniform(0.0, 0.6) if sustained else 0.0,
        sustain_tau_s=rng.uniform(2.0, 20.0),
        ring_t60_s=rng.uniform(1.0, 8.0),
        partial_decay=rng.uniform(0.05, 0.5),
        release_s=rng.uniform(0.06, 0.35) if sustained else rng.uniform(0.05, 0.2),
        brightness_db_per_oct=rng.uniform(0.0, 4.0),
        formants=formants,
        rolloff_hz=float(np.exp(rng.uniform(np.log(1500.0), np.log(7000.0)))),
        rolloff_db_per_oct=rng.uniform(6.0, 24.0),
        noise_db=rng.uniform(-40.0, -15.0) if sustained and rng.random() < 0.7 else -np.inf,
        noise_band_hz=(float(np.exp(rng.uniform(np.log(800.0), np.log(6000.0)))), rng.uniform(0.5, 2.0)),
        transient_db=rng.uniform(-30.0, -6.0) if rng.random() < 0.6 else -np.inf,
        transient_s=rng.uniform(0.003, 0.02),
    )


def filter_db(voice: SynthVoice, freq_hz: np.ndarray) -> np.ndarray:
    """The voice's fixed filter, dB, at ``freq_hz`` (any shape)."""
    f = np.maximum(np.asarray(freq_hz, np.float64), 1.0)
    out = np.zeros_like(f)
    for centre, gain, width in voice.formants:
        out += gain * np.exp(-0.5 * (np.log2(f / centre) / width) ** 2)
    out -= voice.rolloff_db_per_oct * np.maximum(0.0, np.log2(f / voice.rolloff_hz))
    return out


def _pitch_curve_cents(n: int, rng: np.random.Generator, *, vibrato_cents: float, vibrato_hz: float,
                       detune_cents: float) -> np.ndarray:
    """Cents around the note's pitch for ``n`` samples: detune, delayed vibrato, slow wobble."""
    t = np.arange(n) / SAMPLE_RATE
    cents = np.full(n, detune_cents, np.float64)
    if vibrato_cents > 0:
        onset = rng.uniform(0.05, 0.3)
        ramp = np.clip(t / onset, 0.0, 1.0)
        cents += vibrato_cents * ramp * np.sin(2 * np.pi * vibrato_hz * t + rng.uniform(0, 2 * np.pi))
    return cents


def _interp_rows(coarse: np.ndarray, n: int) -> np.ndarray:
    """Linear upsampling of ``(rows, ceil(n / ENVELOPE_STEP) + 1)`` to ``(rows, n)``."""
    pos = np.arange(n) / ENVELOPE_STEP
    i0 = np.minimum(pos.astype(np.int64), coarse.shape[1] - 2)
    w = (pos - i0).astype(np.float32)
    return coarse[:, i0] * (1.0 - w) + coarse[:, i0 + 1] * w


def render_note(
    note: ScoreNote,
    voice: SynthVoice,
    rng: np.random.Generator,
    *,
    vibrato_cents: float = 0.0,
    vibrato_hz: float = 5.0,
    detune_cents: float = 0.0,
    max_samples: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One note's source signal (before the voice's filter) and its attack-noise envelope.

    Returns
    -------
    (tone, burst) : ndarray float32, shape (n,) each
        Samples from the note's onset: the note sounds ``end_s - start_s`` seconds, then its
        release; ``n`` is at most ``max_samples``.
    """
    dur = max(note.end_s - note.start_s, 1.0 / SAMPLE_RATE)
    n = round((dur + voice.release_s) * SAMPLE_RATE)
    if max_samples is not None:
        n = min(n, max_samples)
    if n <= 1:
        return np.zeros(max(n, 0), np.float32), np.zeros(max(n, 0), np.float32)
    f0 = float(midi_to_hz(note.pitch))
    kk = np.arange(1, MAX_PARTIALS + 1, dtype=np.float64)
    stretch = kk * np.sqrt(1.0 + voice.inharmonicity * kk ** 2)
    n_part = int(np.searchsorted(stretch * f0, MAX_PARTIAL_HZ / 1.02))
    n_part = max(1, min(n_part, MAX_PARTIALS))
    stretch = stretch[:n_part]

    cents = _pitch_curve_cents(n, rng, vibrato_cents=vibrato_cents, vibrato_hz=vibrato_hz,
                               detune_cents=detune_cents)
    phase0 = 2 * np.pi * np.cumsum(f0 * 2.0 ** (cents / 1200.0)) / SAMPLE_RATE

    velocity = note.velocity / 127.0
    bright = voice.brightness_db_per_oct * (note.velocity - 80) / 47.0
    level_db = voice.partial_db[:n_part] + bright * np.log2(kk[:n_part])
    amp = (10.0 ** (level_db / 20.0)) * velocity ** 1.5

    # Envelopes on a coarse grid: (n_part, m).
    m = n // ENVELOPE_STEP + 2
    tc = np.arange(m) * ENVELOPE_STEP / SAMPLE_RATE
    k = kk[:n_part, None]
    if voice.sustained:
        att = voice.attack_s * (1.0 + voice.attack_spread * np.log2(k))
        env = (1.0 - np.exp(-3.0 * tc / att)) * np.exp(-tc / voice.sustain_tau_s)
    else:
        t60 = voice.ring_t60_s * 2.0 ** (-(note.pitch - 60) / 24.0) / (1.0 + voice.partial_decay * (k - 1))
        env = (1.0 - np.exp(-3.0 * tc / voice.attack_s)) * np.exp(-6.91 * tc / t60)
    after = np.maximum(tc - dur, 0.0)
    env = env * np.exp(-6.91 * after / voice.release_s)
    env = (env * amp[:, None]).astype(np.float32)

    phases = stretch[:, None] * phase0[None, :] + rng.uniform(0, 2 * np.pi, (n_part, 1))
    tone = np.einsum("kn,kn->n", _interp_rows(env, n), np.sin(phases).astype(np.float32))

    burst = np.zeros(n, np.float32)
    if np.isfinite(voice.transient_db):
        peak = float(np.abs(amp).sum()) * 10.0 ** (voice.transient_db / 20.0)
        t = np.arange(n) / SAMPLE_RATE
        burst = (peak * np.exp(-t / voice.transient_s)).astype(np.float32)
    return tone.astype(np.float32), burst


def _band_noise(rng: np.random.Generator, n: int, centre_hz: float, width_oct: float) -> np.ndarray:
    """White noise shaped to a log-Gaussian band (unit RMS), length n."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE), 1.0)
    spec *= np.exp(-0.5 * (np.log2(f / centre_hz) / width_oct) ** 2)
    out = np.fft.irfft(spec, n)
    return out / rms(out)


def render_synth_stem(
    notes: list[ScoreNote],
    voice: SynthVoice,
    rng: np.random.Generator,
    *,
    n_samples: int,
    vibrato_cents: float = 0.0,
    vibrato_hz: float = 5.0,
    detune_cents: float = 0.0,
) -> np.ndarray:
    """Render one instrument's notes with a drawn voice.

    Parameters
    ----------
    notes : list of ScoreNote
        The sounding notes (seconds); each starts at ``round(start_s * SAMPLE_RATE)``.
    voice : SynthVoice
        From :func:`draw_voice`.
    rng : numpy Generator
        Phases, vibrato phases and noise.
    n_samples : int
        Output length, samples at SAMPLE_RATE; sound after it is cut.
    vibrato_cents, vibrato_hz, detune_cents : float
        Pitch vibrato depth (cents, 0: none) and rate (Hz), and a constant detuning (cents).

    Returns
    -------
    ndarray, float32, shape (n_samples,)
    """
    if n_samples <= 0:
        raise ParameterError("n_samples must be positive")
    tone = np.zeros(n_samples, np.float32)
    bursts = np.zeros(n_samples, np.float32)
    hold = np.zeros(n_samples, np.float32)
    for note in sorted(notes, key=lambda x: (x.start_s, x.pitch)):
        start = round(note.start_s * SAMPLE_RATE)
        if start >= n_samples:
            continue
        x, b = render_note(note, voice, rng, vibrato_cents=vibrato_cents, vibrato_hz=vibrato_hz,
                           detune_cents=detune_cents, max_samples=n_samples - start)
        tone[start:start + len(x)] += x
        bursts[start:start + len(b)] += b
        end = min(n_samples, round(note.end_s * SAMPLE_RATE))
        hold[start:end] = np.maximum(hold[start:end], note.velocity / 127.0)
    level = rms(tone)
    out = tone.astype(np.float64)
    if np.isfinite(voice.noise_db) and hold.any():
        smooth = np.convolve(hold, np.hanning(int(0.03 * SAMPLE_RATE)) / (0.015 * SAMPLE_RATE), mode="same")
        centre, width = voice.noise_band_hz
        out += level * 10.0 ** (voice.noise_db / 20.0) * smooth * _band_noise(rng, n_samples, centre, width)
    if bursts.any():
        out += bursts * _band_noise(rng, n_samples, voice.noise_band_hz[0] * 1.5, 1.5)
    return zero_phase_eq(out, lambda f: filter_db(voice, f), sr=SAMPLE_RATE)
