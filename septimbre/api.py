"""The one-call API: :func:`transcribe` (a cached default :class:`~septimbre.inference.Transcriber`)."""

from __future__ import annotations

import functools
import os
from typing import Any

from septimbre.inference import (
    DEFAULT_THREADS,
    Transcriber,
    _AudioSource,
    check_instruments,
    check_thresholds,
)


@functools.lru_cache(maxsize=4)
def _default_transcriber(model: str | None, threads: int) -> Transcriber:
    return Transcriber(model, threads=threads)


def transcribe(
    audio: Any,
    sr: int | None = None,
    *,
    instruments: int | None = None,
    separate: bool = True,
    onset_threshold: float | None = None,
    frame_threshold: float | None = None,
    min_note_ms: float | None = None,
    model: str | os.PathLike | None = None,
    threads: int = DEFAULT_THREADS,
    progress: bool = False,
):
    """Transcribe a recording into notes.

    Parameters
    ----------
    audio : str, path or ndarray
        An audio file (wav, flac, ogg, mp3; any rate and channel count; streamed, so any length),
        or an array ``[shape=(n,)]`` / ``(n, channels)`` / ``(channels, n)`` of float samples.
    sr : int, optional
        Sample rate (Hz) of an array; must be None for files.
    instruments : int, optional
        Number of tracks to produce. Timbre separation is not available yet: only 1 (or None) is
        accepted; larger values raise ParameterError.
    separate : bool
        Split notes into one track per instrument (not available yet; the result has one track
        either way). ``separate=False`` asks for a single track explicitly.
    onset_threshold, frame_threshold : float in [0, 1], optional
        Decoder thresholds; default: the values shipped with the model.
    min_note_ms : float, optional
        Shortest note kept, milliseconds; default: the model's.
    model : str or path, optional
        Bundled model name or ``.onnx`` path (default ``basicamt``).
    threads : int
        onnxruntime intra-op threads.
    progress : bool
        Show a progress bar (tqdm, on stderr).

    Returns
    -------
    Transcription
        Notes (start/end in seconds, MIDI pitch, velocity, confidence, track) and tracks.

    Raises
    ------
    ParameterError
        Bad arguments (checked before any model is loaded).
    AudioLoadError
        The file is missing, unreadable or empty.
    MissingResourceError
        The model file is missing.
    """
    check_instruments(instruments, separate)
    check_thresholds(onset_threshold, frame_threshold, min_note_ms)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        from septimbre.utils.errors import ParameterError

        raise ParameterError(f"threads must be an integer >= 1; got {threads!r}")
    _AudioSource.make(audio, sr)  # validates the input (file readable, array sane) before loading
    return _default_transcriber(None if model is None else str(model), threads).transcribe(
        audio, sr, instruments=instruments, separate=separate, onset_threshold=onset_threshold,
        frame_threshold=frame_threshold, min_note_ms=min_note_ms, progress=progress)
