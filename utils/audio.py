"""Audio input: whole-file loading and a streaming block reader, both mono float32 at a target rate.

Conventions
-----------
- Decoding via soundfile (libsndfile: wav, flac, ogg/vorbis, opus, and mp3 with libsndfile >= 1.1);
  resampling via soxr (``HQ``). Channels are averaged to mono *before* resampling.
- Arrays are float32 ``[shape=(n_samples,)]`` in [-1, 1] at ``sr`` Hz.
- Every failure to read a file raises :class:`AudioLoadError` naming the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from septimbre.utils.errors import AudioLoadError, ParameterError

logger = logging.getLogger(__name__)

#: File name suffixes the CLI collects from folders.
AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
#: Input frames decoded per block by the streaming reader (about 1.5 s at 44.1 kHz).
DEFAULT_BLOCK_FRAMES: int = 65536
#: soxr quality preset used everywhere.
RESAMPLE_QUALITY: str = "HQ"


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, before decoding.

    Attributes
    ----------
    path : str
    sample_rate : int
        Native rate, Hz.
    channels : int
    frames : int or None
        Native-rate sample frames, when the container states it (None for some mp3/ogg).
    """

    path: str
    sample_rate: int
    channels: int
    frames: int | None

    @property
    def duration_s(self) -> float | None:
        return None if self.frames is None else self.frames / self.sample_rate


def _open(path: str | Path):
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AudioLoadError(f"{p}: no such file")
    if p.is_dir():
        raise AudioLoadError(f"{p}: is a folder, not an audio file")
    try:
        return sf.SoundFile(str(p))
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError / TypeError
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioLoadError(f"{p}: cannot decode audio ({msg})") from exc


def audio_info(path: str | Path) -> AudioInfo:
    """Rate, channels and length of an audio file, without decoding it."""
    with _open(path) as f:
        frames = int(f.frames) if f.frames and f.frames > 0 else None
        return AudioInfo(str(path), int(f.samplerate), int(f.channels), frames)


def _check_rate(sr: int, name: str = "sr") -> int:
    if not isinstance(sr, (int, np.integer)) or isinstance(sr, bool) or sr <= 0:
        raise ParameterError(f"{name} must be a positive integer (Hz); got {sr!r}")
    return int(sr)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Mono float32 from ``(n,)`` or ``(n, channels)`` audio (channels averaged).

    2-D input may be ``(n, channels)`` (soundfile's layout) or ``(channels, n)``; the shorter axis,
    at most 16 long, is taken as channels.
    """
    a = np.asarray(audio)
    if a.ndim == 1:
        return a.astype(np.float32, copy=False)
    if a.ndim == 2:
        if a.shape[1] <= 16 and a.shape[0] > a.shape[1]:
            return a.mean(axis=1, dtype=np.float64).astype(np.float32)
        if a.shape[0] <= 16 and a.shape[1] > a.shape[0]:
            return a.mean(axis=0, dtype=np.float64).astype(np.float32)
    raise ParameterError(f"audio must be (n_samples,), (n_samples, channels) or (channels, n_samples); "
                         f"got shape {a.shape}")


def resample(audio: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample mono float32 audio with soxr (identity when the rates match)."""
    _check_rate(orig_sr, "orig_sr")
    _check_rate(target_sr, "target_sr")
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if orig_sr == target_sr or audio.size == 0:
        return audio
    import soxr

    return soxr.resample(audio, orig_sr, target_sr, quality=RESAMPLE_QUALITY).astype(np.float32, copy=False)


def stream_blocks(path: str | Path, *, sr: int, block_frames: int = DEFAULT_BLOCK_FRAMES
                  ) -> Iterator[np.ndarray]:
    """Yield consecutive mono float32 blocks of a file, resampled to ``sr`` Hz.

    Only one block (plus soxr's small state) is in memory at a time, so hour-long files stream
    in constant memory. Concatenating the blocks gives the whole resampled signal.

    Parameters
    ----------
    path : str or Path
    sr : int
        Target rate, Hz.
    block_frames : int
        Native-rate frames decoded per step.

    Raises
    ------
    AudioLoadError
        Missing, unreadable, corrupt or empty file (named in the message).
    """
    _check_rate(sr)
    if block_frames <= 0:
        raise ParameterError(f"block_frames must be > 0; got {block_frames}")
    f = _open(path)
    total = 0
    try:
        native = int(f.samplerate)
        rs = None
        if native != sr:
            import soxr

            rs = soxr.ResampleStream(native, sr, 1, dtype="float32", quality=RESAMPLE_QUALITY)
        while True:
            try:
                block = f.read(block_frames, dtype="float32", always_2d=True)
            except Exception as exc:
                raise AudioLoadError(f"{path}: decoding failed after {total} frames ({exc})") from exc
            last = block.shape[0] < block_frames
            total += block.shape[0]
            mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
            out = mono if rs is None else rs.resample_chunk(np.ascontiguousarray(mono), last=last)
            if out.size:
                yield np.ascontiguousarray(out, dtype=np.float32)
            if last:
                break
    finally:
        f.close()
    if total == 0:
        raise AudioLoadError(f"{path}: file holds no audio samples")


def load_audio(path: str | Path, *, sr: int) -> np.ndarray:
    """Whole file as mono float32 at ``sr`` Hz ``[shape=(n_samples,)]``.

    Use :func:`stream_blocks` for long files; this holds the whole signal in memory.
    """
    blocks = list(stream_blocks(path, sr=sr))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
