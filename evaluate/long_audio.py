"""A long synthetic test recording for memory and speed checks, written in blocks.

``python -m septimbre.evaluate long-file --minutes 30 --out long30.flac`` writes pink-ish noise at
-30 dBFS plus three sine tones that change pitch every 2 s (MIDI 48-84), 44.1 kHz mono 16-bit FLAC.
The file is written block by block, so making a 30-minute file never holds it in memory; it is
deterministic for a given seed. Used for the peak-RSS figure in ``docs/runtime.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from septimbre.utils.constants import EXPORT_SAMPLE_RATE, midi_to_hz
from septimbre.utils.errors import ParameterError

#: Seconds between tone changes.
TONE_SECONDS: float = 2.0
#: Number of simultaneous tones.
N_TONES: int = 3


def _tone_pitches(n_segments: int, seed: int) -> np.ndarray:
    """MIDI pitches ``(n_segments, N_TONES)`` of the tones in each 2-second segment."""
    return np.random.default_rng(seed).integers(48, 85, size=(n_segments, N_TONES))


def write_long_file(path: str | Path, *, minutes: float, sr: int = EXPORT_SAMPLE_RATE, seed: int = 0,
                    progress: bool = False) -> Path:
    """Write ``minutes`` of noise + tones to ``path`` (FLAC/WAV by suffix), one segment at a time.

    Returns the path. Each 2-second segment holds ``N_TONES`` sines (amplitude 0.1 each, 10 ms
    fades) over noise; segment ``k``'s pitches are ``_tone_pitches(...)[k]``.
    """
    import soundfile as sf

    if not minutes > 0:
        raise ParameterError(f"minutes must be > 0, got {minutes}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seg = int(round(TONE_SECONDS * sr))
    total = int(round(minutes * 60 * sr))
    n_segments = -(-total // seg)
    pitches = _tone_pitches(n_segments, seed)
    rng = np.random.default_rng(seed + 1)
    t = np.arange(seg) / sr
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
    iterator = range(n_segments)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc=path.name, unit="seg")
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as out:
        for k in iterator:
            n = min(seg, total - k * seg)
            noise = np.cumsum(rng.standard_normal(seg)) * 0.02
            noise = (noise - np.linspace(noise[0], noise[-1], seg)) * 0.0316 / (noise.std() + 1e-9)
            freqs = midi_to_hz(pitches[k])
            tones = 0.1 * np.sin(2 * np.pi * freqs[:, None] * t[None]).sum(axis=0) * fade
            out.write((noise + tones)[:n].astype(np.float32))
    return path
