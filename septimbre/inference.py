"""Torch-free inference: ONNX model over streamed audio, stitched posteriors, streaming note decoding.

Conventions
-----------
- The model is the exported graph (see ``docs/export.md``): input ``audio`` float32 [1, 1, T] mono
  at EXPORT_SAMPLE_RATE; outputs ``onset_raw``, ``frame_raw`` [1, N_PITCHES, ceil(T / 512)], frame
  ``i`` centred at input sample ``EXPORT_HOP_LENGTH * i``.
- Long audio runs in overlapping windows. Window ``j`` keeps output frames
  ``[j * step, (j + 1) * step)`` and sees ``context`` frames of audio on each side (less at the
  file's ends, where it sees exactly what a single pass sees). Windows start at multiples of
  EXPORT_HOP_LENGTH, so their frames coincide with single-pass frames; a model whose outputs
  depend only on audio within the context gives identical posteriors.
- :class:`Transcriber` runs LEAD_SILENCE_FRAMES of silence before the audio and drops their
  columns, so a note sounding from the first sample keeps its onset (docs/runtime.md).
- Posteriors go straight into a :class:`~septimbre.utils.decoding.StreamingDecoder`; neither the
  signal nor the posteriorgram of a long file is ever held whole.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from septimbre.utils.constants import (EXPORT_HOP_LENGTH, EXPORT_SAMPLE_RATE, LEAD_SILENCE_FRAMES, N_PITCHES,
                                      n_frames)
from septimbre.utils.decoding import THRESHOLD_KEYS
from septimbre.utils.errors import AudioLoadError, MissingResourceError, ParameterError

logger = logging.getLogger(__name__)

#: Folder of the bundled weights.
WEIGHTS_DIR: Path = Path(__file__).resolve().parent / "weights"
#: Name (file stem in WEIGHTS_DIR) of the default note model.
DEFAULT_MODEL: str = "basicamt"
#: onnxruntime intra-op threads unless told otherwise.
DEFAULT_THREADS: int = 2
#: Output frames kept per window (about 35.7 s) and frames of audio context on each side (about
#: 1.9 s). Longer windows spend less on context (2 * 160 / step) but hold more activations: 3072
#: ran ~10 % faster than 1536 on the TRIOS benchmark and peaks at 217-227 MiB on a 30-minute file
#: (1536: 163 MiB; docs/runtime.md). A kept frame depends on audio up to ~150 frames away: the
#: energy normalisation's sliding window (ENERGY_WINDOW_FRAMES // 2 = 100) + the part of the longest
#: CQT kernel that matters (half its length is ~69 frames at the lowest bin, but its Hann tails are
#: negligible beyond ~30) + the convolutions' time extent (19 with basicamt-4's two time blocks);
#: 160 frames cover it: windowed posteriors equal single-pass ones within 1e-5 (tested with the
#: shipped model).
DEFAULT_STEP_FRAMES: int = 3072
DEFAULT_CONTEXT_FRAMES: int = 160
#: Frames over which neighbouring windows are cross-faded (centred on the seam).
DEFAULT_FADE_FRAMES: int = 32
INPUT_NAME: str = "audio"
RAW_OUTPUTS: tuple[str, str] = ("onset_raw", "frame_raw")
#: Decoder settings read from the model JSON (top-level keys) when present: THRESHOLD_KEYS (from
#: septimbre.utils.decoding, the decoder's own list) and the options below.
#: Further decoder options a model JSON may ship (top-level keys), passed to the decoder as they are.
DECODER_OPTION_KEYS: tuple[str, ...] = ("energy_tolerance_frames", "infer_onsets", "onset_diff_frames",
                                        "neighbour_suppression", "recover_onsetless")


@dataclass(frozen=True)
class ModelFiles:
    """Where a model's ONNX graph and JSON description live.

    Attributes
    ----------
    onnx : Path
    config : Path or None
        JSON with ``onset_threshold``, ``frame_threshold``, ``min_note_ms`` (and provenance).
    """

    onnx: Path
    config: Path | None

    @classmethod
    def resolve(cls, model: str | os.PathLike | None = None) -> ModelFiles:
        """A bundled model name (``"basicamt"``), an ``.onnx`` path, or None for the default."""
        name = str(DEFAULT_MODEL if model is None else model)
        p = Path(name)
        if p.suffix != ".onnx" and len(p.parts) == 1:  # a bundled model name
            p = WEIGHTS_DIR / f"{name}.onnx"
        if not p.is_file():
            raise MissingResourceError(
                f"{p}: model file not found (export it with `septimbre export-onnx`, or pass model=PATH)")
        cfg = p.with_suffix(".json")
        return cls(p, cfg if cfg.is_file() else None)


@dataclass(frozen=True)
class DecoderSettings:
    """Thresholds handed to the note decoder (see :func:`septimbre.utils.decoding.decode_notes`)."""

    onset_threshold: float
    frame_threshold: float
    min_note_ms: float
    extra: dict[str, Any] = field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        return {"onset_threshold": self.onset_threshold, "frame_threshold": self.frame_threshold,
                "min_note_ms": self.min_note_ms, **self.extra}


def check_thresholds(onset_threshold: float | None, frame_threshold: float | None,
                     min_note_ms: float | None) -> None:
    """Raise ParameterError for out-of-range overrides (None means "use the model's default")."""
    for name, val in (("onset_threshold", onset_threshold), ("frame_threshold", frame_threshold)):
        if val is not None and not (isinstance(val, (int, float)) and not isinstance(val, bool)
                                    and 0.0 <= float(val) <= 1.0):
            raise ParameterError(f"{name} must be a number in [0, 1]; got {val!r}")
    if min_note_ms is not None and not (isinstance(min_note_ms, (int, float)) and not isinstance(min_note_ms, bool)
                                        and 0.0 <= float(min_note_ms) < 1e7):
        raise ParameterError(f"min_note_ms must be a number >= 0; got {min_note_ms!r}")


def window_posteriors(
    run: Any,
    blocks: Iterable[np.ndarray],
    *,
    step_frames: int = DEFAULT_STEP_FRAMES,
    context_frames: int = DEFAULT_CONTEXT_FRAMES,
    fade_frames: int = DEFAULT_FADE_FRAMES,
    hop_length: int = EXPORT_HOP_LENGTH,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Run a model over overlapping windows of a block stream; yield stitched posterior columns.

    Parameters
    ----------
    run : callable
        ``run(x)`` with ``x`` float32 ``[shape=(n,)]`` returns ``(onset, frame)``, each
        ``[shape=(n_pitches, ceil(n / hop_length))]``.
    blocks : iterable of ndarray
        Consecutive mono float32 blocks at the model's rate (any sizes).
    step_frames, context_frames : int
        Frames kept per window and frames of audio context on each side.
    fade_frames : int
        Width of the linear cross-fade between neighbouring windows, centred on each seam (capped
        at ``context_frames`` and ``step_frames``). Faded columns have ``context_frames -
        fade_frames / 2`` frames of context, which must still cover the model's reach; then both
        windows agree there and the fade changes nothing, while a model with clip-level
        normalisation gets no step at the seam.

    Yields
    ------
    (onset, frame) : ndarray [shape=(n_pitches, k)]
        Consecutive columns; together they are the whole file's posteriorgram, frame 0 first.
    """
    if step_frames < 1 or context_frames < 0 or fade_frames < 0:
        raise ParameterError(f"need step_frames >= 1, context_frames >= 0, fade_frames >= 0; got "
                             f"{step_frames}, {context_frames}, {fade_frames}")
    step, ctx = step_frames * hop_length, context_frames * hop_length
    half = min(fade_frames // 2, context_frames // 2, step_frames // 2)
    ramp = ((np.arange(2 * half) + 0.5) / (2 * half)).astype(np.float32)  # weight of the newer window
    buf = np.zeros(0, np.float32)
    buf_start = 0  # absolute sample index of buf[0]
    j = 0  # next window
    tail: tuple[np.ndarray, np.ndarray] | None = None  # previous window's columns across the seam

    def window(a: int, b: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        nonlocal tail
        outs = run(buf[a - buf_start:None if b is None else b - buf_start])
        lo = j * step_frames - (half if j > 0 else 0) - a // hop_length  # first column wanted
        hi = None if b is None else (j + 1) * step_frames + half - a // hop_length
        cols = [o[:, lo:hi] for o in outs]
        if tail is not None and half:
            w = ramp[:cols[0].shape[1]]
            for c, t in zip(cols, tail):
                c[:, :w.size] = t[:, :w.size] * (1.0 - w) + c[:, :w.size] * w
        if b is None or not half:
            tail = None
            return iter([tuple(cols)])
        tail = tuple(c[:, -2 * half:].copy() for c in cols)
        return iter([tuple(c[:, :-2 * half] for c in cols)])

    for block in blocks:
        buf = np.concatenate([buf, np.asarray(block, np.float32)]) if buf.size else np.asarray(block, np.float32)
        while buf_start + buf.size >= (j + 1) * step + ctx:
            yield from window(max(0, j * step - ctx), (j + 1) * step + ctx)
            j += 1
            new_start = max(0, j * step - ctx)
            buf = buf[new_start - buf_start:].copy()
            buf_start = new_start
    total = buf_start + buf.size
    if n_frames(total, hop_length=hop_length) > j * step_frames:
        yield from window(max(0, j * step - ctx), None)
    elif tail is not None:  # the stream ended exactly at a seam: the old window's columns stand
        yield tail


class Transcriber:
    """Load a note model once, transcribe many recordings.

    Parameters
    ----------
    model : str or path, optional
        Bundled model name or ``.onnx`` path; its thresholds come from the ``.json`` next to it.
        Default: ``septimbre/weights/basicamt.onnx``.
    threads : int
        onnxruntime intra-op threads (default 2).
    step_frames, context_frames, fade_frames : int
        Windowing of long audio (frames at EXPORT_HOP_LENGTH; see :func:`window_posteriors`).
        Memory grows with ``step_frames + 2 * context_frames``.
    lead_frames : int
        Frames of silence run before the audio and dropped from the output (default
        LEAD_SILENCE_FRAMES), so notes sounding from the first sample start at 0 s instead of being
        lost. 0 runs the audio as it is.

    Raises
    ------
    MissingResourceError
        The model file is absent.
    """

    def __init__(self, model: str | os.PathLike | None = None, *, threads: int = DEFAULT_THREADS,
                 step_frames: int = DEFAULT_STEP_FRAMES, context_frames: int = DEFAULT_CONTEXT_FRAMES,
                 fade_frames: int = DEFAULT_FADE_FRAMES, lead_frames: int = LEAD_SILENCE_FRAMES) -> None:
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ParameterError(f"threads must be an integer >= 1; got {threads!r}")
        if step_frames < 1 or context_frames < 0 or fade_frames < 0 or lead_frames < 0:
            raise ParameterError("step_frames must be >= 1, context_frames, fade_frames and lead_frames >= 0")
        self.files = ModelFiles.resolve(model)
        self.config: dict[str, Any] = json.loads(self.files.config.read_text()) if self.files.config else {}
        self.threads = threads
        self.step_frames = int(step_frames)
        self.context_frames = int(context_frames)
        self.fade_frames = int(fade_frames)
        self.lead_frames = int(lead_frames)
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        # The arena keeps its blocks; a memory pattern would add a second plan-sized block per input
        # length. Without the pattern, peak RSS stays ~250 MB on 18 s windows (docs/runtime.md).
        opts.enable_mem_pattern = False
        try:
            self._session = ort.InferenceSession(str(self.files.onnx), sess_options=opts,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise MissingResourceError(f"{self.files.onnx}: cannot load ONNX model ({exc})") from exc
        names = {o.name for o in self._session.get_outputs()}
        if not set(RAW_OUTPUTS) <= names or self._session.get_inputs()[0].name != INPUT_NAME:
            raise MissingResourceError(
                f"{self.files.onnx}: expected input '{INPUT_NAME}' and outputs {RAW_OUTPUTS}, got {sorted(names)}")
        logger.info("loaded %s (%d threads)", self.files.onnx, threads)

    # ------------------------------------------------------------------ settings
    @property
    def name(self) -> str:
        return self.files.onnx.stem

    def decoder_settings(self, *, onset_threshold: float | None = None, frame_threshold: float | None = None,
                         min_note_ms: float | None = None) -> DecoderSettings:
        """The model's shipped thresholds, with any given overrides."""
        from septimbre.utils import decoding

        check_thresholds(onset_threshold, frame_threshold, min_note_ms)
        fallback = {"onset_threshold": decoding.DEFAULT_ONSET_THRESHOLD,
                    "frame_threshold": decoding.DEFAULT_FRAME_THRESHOLD,
                    "min_note_ms": decoding.DEFAULT_MIN_NOTE_MS}
        shipped = {}
        for key in THRESHOLD_KEYS:
            if key in self.config:
                shipped[key] = float(self.config[key])
            else:
                logger.warning("%s has no %s; using the decoder default %s", self.files.config or self.files.onnx,
                               key, fallback[key])
                shipped[key] = fallback[key]
        given = {"onset_threshold": onset_threshold, "frame_threshold": frame_threshold,
                 "min_note_ms": min_note_ms}
        vals = {k: float(given[k]) if given[k] is not None else shipped[k] for k in THRESHOLD_KEYS}
        extra = {k: self.config[k] for k in DECODER_OPTION_KEYS if k in self.config}
        return DecoderSettings(**vals, extra=extra)

    # ------------------------------------------------------------------ model
    def run_window(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the graph once on mono float32 audio at EXPORT_SAMPLE_RATE.

        Returns
        -------
        (onset, frame) : ndarray [shape=(N_PITCHES, ceil(n / EXPORT_HOP_LENGTH))], float32
        """
        x = np.ascontiguousarray(audio, dtype=np.float32).reshape(1, 1, -1)
        onset, frame = self._session.run(list(RAW_OUTPUTS), {INPUT_NAME: x})
        return onset[0], frame[0]

    def iter_posteriors(self, blocks: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Stitched posterior columns for a stream of blocks at EXPORT_SAMPLE_RATE (see
        :func:`window_posteriors`), after ``lead_frames`` of silence whose columns are dropped:
        column ``i`` is centred at the stream's sample ``EXPORT_HOP_LENGTH * i``."""
        lead = np.zeros(self.lead_frames * EXPORT_HOP_LENGTH, np.float32)
        cols = window_posteriors(self.run_window, itertools.chain([lead], blocks), step_frames=self.step_frames,
                                 context_frames=self.context_frames, fade_frames=self.fade_frames)
        skip = self.lead_frames
        for onset, frame in cols:
            if skip >= onset.shape[1]:
                skip -= onset.shape[1]
                continue
            yield onset[:, skip:], frame[:, skip:]
            skip = 0

    def posteriors(self, audio: Any, sr: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Whole posteriorgrams ``(onset, frame)``, each ``[shape=(N_PITCHES, n_frames)]``.

        Holds everything in memory: for analysis of short clips. ``audio`` as in :meth:`transcribe`.
        """
        source = _AudioSource.make(audio, sr)
        parts = list(self.iter_posteriors(source.blocks()))
        if not parts:
            z = np.zeros((N_PITCHES, 0), np.float32)
            return z, z.copy()
        return np.concatenate([p[0] for p in parts], axis=1), np.concatenate([p[1] for p in parts], axis=1)

    # ------------------------------------------------------------------ transcription
    def transcribe(self, audio: Any, sr: int | None = None, *, instruments: int | None = None,
                   separate: bool = True, onset_threshold: float | None = None,
                   frame_threshold: float | None = None, min_note_ms: float | None = None,
                   progress: bool = False):
        """Transcribe one recording; see :func:`septimbre.transcribe` for the parameters.

        Returns
        -------
        Transcription
        """
        from septimbre.utils.decoding import StreamingDecoder
        from septimbre.utils.notes import Track, Transcription

        check_instruments(instruments, separate)
        settings = self.decoder_settings(onset_threshold=onset_threshold, frame_threshold=frame_threshold,
                                         min_note_ms=min_note_ms)
        source = _AudioSource.make(audio, sr)
        decoder = StreamingDecoder(hop_length=EXPORT_HOP_LENGTH, sr=EXPORT_SAMPLE_RATE, **settings.kwargs())
        notes = []
        bar = _progress(source, enabled=progress)
        n_cols = 0
        try:
            for onset, frame in self.iter_posteriors(source.blocks()):
                notes.extend(decoder.push(onset, frame))
                n_cols += onset.shape[1]
                if bar is not None:
                    step = onset.shape[1] * EXPORT_HOP_LENGTH / EXPORT_SAMPLE_RATE
                    bar.update(step if bar.total is None else min(step, max(0.0, bar.total - bar.n)))
            notes.extend(decoder.finish())
        finally:
            if bar is not None:
                bar.close()
        duration = source.n_samples / EXPORT_SAMPLE_RATE
        # The last frame's note may end up to one hop after the audio does: no note outlasts the file.
        notes = [n if n.end_s <= duration else replace(n, end_s=duration) for n in notes]
        meta = {"model": self.name, "model_version": self.config.get("version"), **settings.kwargs(),
                "frames": n_cols}
        return Transcription(tuple(notes), (Track(0, "notes"),), duration_s=duration,
                             sample_rate=EXPORT_SAMPLE_RATE, source=source.name, metadata=meta)


def check_instruments(instruments: int | None, separate: bool) -> None:
    """Validate the track options. Separation is not available yet: more than one track is refused."""
    if not isinstance(separate, bool):
        raise ParameterError(f"separate must be True or False; got {separate!r}")
    if instruments is None:
        return
    if not isinstance(instruments, int) or isinstance(instruments, bool) or instruments < 1:
        raise ParameterError(f"instruments must be a positive integer; got {instruments!r}")
    if instruments > 1:
        raise ParameterError(
            f"instruments={instruments}: splitting notes into several instrument tracks needs the timbre "
            "separation model, which this version of septimbre does not include yet; use instruments=1 "
            "or separate=False (one track)")


class _AudioSource:
    """A file (streamed) or an in-memory array, as blocks of mono float32 at EXPORT_SAMPLE_RATE."""

    def __init__(self, name: str | None, make_blocks, expected_samples: int | None) -> None:
        self.name = name
        self._make_blocks = make_blocks
        self.expected_samples = expected_samples
        self.n_samples = 0

    @classmethod
    def make(cls, audio: Any, sr: int | None) -> _AudioSource:
        from septimbre.utils import audio as aio

        if isinstance(audio, (str, os.PathLike)):
            if sr is not None:
                raise ParameterError("sr is only for array input; files carry their own sample rate")
            path = Path(audio)
            info = aio.audio_info(path)  # raises AudioLoadError naming the file
            expected = None if info.frames is None else round(info.frames * EXPORT_SAMPLE_RATE / info.sample_rate)
            return cls(str(path), lambda: aio.stream_blocks(path, sr=EXPORT_SAMPLE_RATE), expected)
        if isinstance(audio, (np.ndarray, list, tuple)):
            if sr is None:
                raise ParameterError("array input needs its sample rate: transcribe(audio, sr=...)")
            mono = aio.to_mono(np.asarray(audio, dtype=np.float32))
            if mono.size == 0:
                raise ParameterError("audio array is empty")
            if not np.all(np.isfinite(mono)):
                raise ParameterError("audio array holds NaN or infinite values")
            if not isinstance(sr, (int, np.integer)) or isinstance(sr, bool) or sr <= 0:
                raise ParameterError(f"sr must be a positive integer (Hz); got {sr!r}")
            expected = round(mono.size * EXPORT_SAMPLE_RATE / int(sr))
            return cls(None, lambda: iter([aio.resample(mono, orig_sr=int(sr), target_sr=EXPORT_SAMPLE_RATE)]),
                       expected)
        raise ParameterError(f"audio must be a file path or a numpy array; got {type(audio).__name__}")

    def blocks(self) -> Iterator[np.ndarray]:
        self.n_samples = 0
        for b in self._make_blocks():
            self.n_samples += b.size
            yield b
        if self.n_samples == 0:
            raise AudioLoadError(f"{self.name or 'audio'}: no audio samples")


def _progress(source: _AudioSource, *, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    desc = Path(source.name).name if source.name else "audio"
    if not source.expected_samples:  # length unknown: seconds done, no percentage
        return tqdm(total=None, unit="s", unit_scale=False, desc=desc, leave=False,
                    bar_format="{desc}: {n:.0f} s [{elapsed}]")
    return tqdm(total=source.expected_samples / EXPORT_SAMPLE_RATE, unit="s", unit_scale=False, desc=desc,
                leave=False, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]")
