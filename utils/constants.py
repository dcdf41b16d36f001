"""The single source of truth for signal and pitch facts.

Every module (torch model, ONNX export, numpy runtime, data engine, evaluation) reads these
names; none of them restates a number. Units are in the names: ``_HZ`` hertz, ``_S`` seconds,
``HOP_LENGTH`` samples at :data:`SAMPLE_RATE`.

Frame convention: frame ``i`` is centred at sample ``i * HOP_LENGTH`` (time ``i / FRAME_RATE``
seconds); a signal of ``T`` samples gives ``ceil(T / HOP_LENGTH)`` frames.
"""

from __future__ import annotations

import math

#: Rate of the audio the networks see, Hz.
SAMPLE_RATE: int = 22050
#: Hop between posteriorgram frames, samples at SAMPLE_RATE.
HOP_LENGTH: int = 256
#: Posteriorgram frames per second (exact: 86.1328125).
FRAME_RATE: float = SAMPLE_RATE / HOP_LENGTH

#: Rate of the exported (browser / noteDigger) graph's input, Hz; its hop is EXPORT_HOP_LENGTH.
EXPORT_SAMPLE_RATE: int = 44100
EXPORT_HOP_LENGTH: int = HOP_LENGTH * EXPORT_SAMPLE_RATE // SAMPLE_RATE  # 512

#: Frames of silence the runtime (septimbre.inference) runs before a recording and then drops
#: (about 0.37 s). The model learnt from crops that cut notes, so a note already sounding in frame
#: 0 with no silence before it looks like a note whose onset lies outside the clip: it gets almost
#: no onset posterior (an A4 from sample 0: peak about 0.05, under the shipped onset threshold) and the
#: decoder drops it. 32 frames cover the convolutions' time extent (19) and the effective
#: half-length of the CQT's longest kernels (~30), so the first real frame sees silence before it,
#: not the feature maps' zero padding. Threshold tuning runs without it: it scores crops that may
#: start mid-note and ignores notes in their first 0.1 s.
LEAD_SILENCE_FRAMES: int = 32

#: Lowest and highest transcribed MIDI pitch (C1 .. B7), inclusive.
MIDI_MIN: int = 24
MIDI_MAX: int = 107
N_PITCHES: int = MIDI_MAX - MIDI_MIN + 1  # 84

#: Constant-Q transform layout: 8 octaves of 36 bins, i.e. 3 bins per semitone.
BINS_PER_OCTAVE: int = 36
N_OCTAVES: int = 8
N_BINS: int = BINS_PER_OCTAVE * N_OCTAVES  # 288
BINS_PER_SEMITONE: int = BINS_PER_OCTAVE // 12  # 3
#: Lowest CQT bin: a third of a semitone below C1, so that bin 1 + 3k is semitone k's centre.
CQT_FMIN_HZ: float = 440.0 * 2.0 ** ((MIDI_MIN - 69) / 12.0) * 2.0 ** (-1.0 / BINS_PER_OCTAVE)

#: Semitones above a sounding note where its partials 2, 3, 4, 5, 6 and 8 fall, rounded (octave,
#: twelfth, two octaves, ...; the 7th, 33.7 semitones, lies between pitches):
#: where harmonic ghosts appear (evaluation) and where a real note doubles another's partial (losses).
HARMONIC_INTERVALS: tuple[int, ...] = (12, 19, 24, 28, 31, 36)


def midi_to_hz(midi: float) -> float:
    """Frequency in Hz of a (possibly fractional) MIDI pitch, A4 = 69 = 440 Hz."""
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def hz_to_midi(hz: float) -> float:
    """Fractional MIDI pitch of a frequency in Hz."""
    return 69.0 + 12.0 * math.log2(hz / 440.0)


def frames_to_seconds(frames, *, hop_length: int = HOP_LENGTH, sr: int = SAMPLE_RATE):
    """Frame index (int, float or numpy array) -> time in seconds of the frame centre."""
    return frames * (hop_length / sr)


def seconds_to_frames(seconds, *, hop_length: int = HOP_LENGTH, sr: int = SAMPLE_RATE):
    """Time in seconds -> nearest frame index (numpy arrays give int64 arrays)."""
    import numpy as np

    out = np.rint(np.asarray(seconds, dtype=np.float64) * (sr / hop_length)).astype(np.int64)
    return out if out.ndim else int(out)


def n_frames(n_samples: int, *, hop_length: int = HOP_LENGTH) -> int:
    """Number of frames for a signal of ``n_samples`` samples: ``ceil(n_samples / hop_length)``."""
    return -(-int(n_samples) // hop_length)
