"""Note decoding: onset / frame posteriorgrams -> notes (numpy only).

Conventions
-----------
- Posteriorgrams are float arrays ``[shape=(n_pitches, n_frames)]`` of probabilities in [0, 1];
  row ``r`` is MIDI pitch ``MIDI_MIN + r``; frame ``i`` is centred at ``i * hop_length / sr`` s.
- A decoded note covers frames ``[start, end)``: it starts at ``frames_to_seconds(start)`` and
  ends at ``frames_to_seconds(end)``.

Algorithm (BasicPitch-style, written for this project)
------------------------------------------------------
1. *Inferred onsets*: where the frame posterior rises sharply (it increases over each of the
   last ``onset_diff_frames`` frames), the rise is taken as extra onset evidence:
   ``onset' = max(onset, min_k(frame[t] - frame[t-k]))``. The rise is used as it is (no global
   rescaling), so decoding is local in time and streaming gives the same notes as one pass.
2. *Onset stage*: local maxima of ``onset'`` along time that reach ``onset_threshold`` are taken
   latest first. Each note extends forward while the frame posterior stays >= ``frame_threshold``;
   runs of fewer than ``energy_tolerance_frames`` frames below it are bridged. A note stops before
   frames already claimed by a (later) note. Notes shorter than ``min_note_ms`` are dropped; kept
   notes claim their frames (and, with ``neighbour_suppression``, the same frames one semitone up
   and down, which suppresses semitone ghosts).
3. *Recovery stage*: remaining unclaimed frames above ``frame_threshold`` are visited from the
   highest posterior down; each grows both ways under the same rule into an onset-less note.
4. Velocity is ``round(127 * mean frame posterior)`` (at least 1); confidence is that mean.

Everything except the per-note bookkeeping (a Python loop over notes, O(1) numpy work each) is
vectorised: thresholds, peak picking and the "where does the note end" searches are precomputed
for all pitches and frames at once.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from septimbre.utils.constants import HOP_LENGTH, MIDI_MAX, MIDI_MIN, SAMPLE_RATE, frames_to_seconds
from septimbre.utils.errors import ParameterError
from septimbre.utils.notes import Note

logger = logging.getLogger(__name__)

#: The decoder's three required settings (keyword names; a model JSON ships them as top-level keys).
THRESHOLD_KEYS: tuple[str, ...] = ("onset_threshold", "frame_threshold", "min_note_ms")
#: Fallback decoder settings, used only where a model's JSON does not ship its own thresholds.
DEFAULT_ONSET_THRESHOLD: float = 0.5
DEFAULT_FRAME_THRESHOLD: float = 0.3
DEFAULT_MIN_NOTE_MS: float = 120.0
#: Frames a note may dip below the frame threshold and still continue.
DEFAULT_ENERGY_TOLERANCE_FRAMES: int = 11
#: Frames over which a rise of the frame posterior counts as an inferred onset.
DEFAULT_ONSET_DIFF_FRAMES: int = 2


@dataclass(frozen=True)
class NoteEvents:
    """Decoded notes in frame units (struct of arrays, sorted by start then pitch row).

    Attributes
    ----------
    start, end : ndarray of int64 [shape=(n_notes,)]
        Frame interval ``[start, end)`` of each note.
    row : ndarray of int64 [shape=(n_notes,)]
        Pitch row (MIDI pitch minus ``MIDI_MIN``).
    amplitude : ndarray of float64 [shape=(n_notes,)]
        Mean frame posterior over the note.
    """

    start: np.ndarray
    end: np.ndarray
    row: np.ndarray
    amplitude: np.ndarray

    def __len__(self) -> int:
        return int(self.start.shape[0])

    def select(self, mask: np.ndarray) -> NoteEvents:
        return NoteEvents(self.start[mask], self.end[mask], self.row[mask], self.amplitude[mask])

    def shifted(self, frames: int) -> NoteEvents:
        return NoteEvents(self.start + frames, self.end + frames, self.row, self.amplitude)

    @staticmethod
    def concatenate(parts: list[NoteEvents]) -> NoteEvents:
        if not parts:
            return _empty_events()
        return NoteEvents(*(np.concatenate([getattr(p, k) for p in parts])
                            for k in ("start", "end", "row", "amplitude")))


def _empty_events() -> NoteEvents:
    z = np.zeros(0, dtype=np.int64)
    return NoteEvents(z, z.copy(), z.copy(), np.zeros(0, dtype=np.float64))


def _check_posteriors(onset: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    onset = np.asarray(onset)
    frame = np.asarray(frame)
    if onset.ndim != 2 or frame.ndim != 2 or onset.shape != frame.shape:
        raise ParameterError(
            f"onset and frame must be 2-D (n_pitches, n_frames) arrays of one shape; got {onset.shape} "
            f"and {frame.shape}")
    if onset.shape[0] > MIDI_MAX - MIDI_MIN + 1 + (127 - MIDI_MAX):
        raise ParameterError(f"too many pitch rows: {onset.shape[0]}")
    return onset.astype(np.float32, copy=False), frame.astype(np.float32, copy=False)


def _check_params(onset_threshold: float, frame_threshold: float, min_note_ms: float,
                  energy_tolerance_frames: int, onset_diff_frames: int) -> None:
    for name, val in (("onset_threshold", onset_threshold), ("frame_threshold", frame_threshold)):
        if not (isinstance(val, (int, float, np.floating)) and 0.0 <= float(val) <= 1.0):
            raise ParameterError(f"{name} must be a number in [0, 1]; got {val!r}")
    if not (isinstance(min_note_ms, (int, float, np.floating)) and float(min_note_ms) >= 0.0
            and math.isfinite(float(min_note_ms))):
        raise ParameterError(f"min_note_ms must be a finite number >= 0; got {min_note_ms!r}")
    if int(energy_tolerance_frames) < 1:
        raise ParameterError(f"energy_tolerance_frames must be >= 1; got {energy_tolerance_frames!r}")
    if int(onset_diff_frames) < 1:
        raise ParameterError(f"onset_diff_frames must be >= 1; got {onset_diff_frames!r}")


def add_inferred_onsets(onset: np.ndarray, frame: np.ndarray, *, onset_diff_frames: int = DEFAULT_ONSET_DIFF_FRAMES
                 ) -> np.ndarray:
    """Onset evidence including sharp rises of the frame posterior.

    Parameters
    ----------
    onset, frame : ndarray [shape=(n_pitches, n_frames)]
        Posteriors in [0, 1].
    onset_diff_frames : int
        The rise must hold against each of the previous ``onset_diff_frames`` frames (frames
        before the first are taken as 0).

    Returns
    -------
    ndarray [shape=(n_pitches, n_frames)], float32
        ``max(onset, min_k (frame[t] - frame[t - k]))``.
    """
    n = frame.shape[1]
    padded = np.concatenate([np.zeros((frame.shape[0], onset_diff_frames), np.float32), frame], axis=1)
    rise = None
    for k in range(1, onset_diff_frames + 1):
        d = frame - padded[:, onset_diff_frames - k: onset_diff_frames - k + n]
        rise = d if rise is None else np.minimum(rise, d)
    return np.maximum(onset, rise)


class _BridgedRuns:
    """Per-pitch runs of above-threshold frames, gaps shorter than ``tol`` frames bridged.

    Frames outside the array count as below threshold. Queries take arrays of (row, frame).
    """

    def __init__(self, above: np.ndarray, tol: int) -> None:
        rows, n = above.shape
        padded = np.zeros((rows, n + 2), np.int8)
        padded[:, 1:-1] = above
        d = np.diff(padded, axis=1)  # +1 where a run starts at frame j, -1 where one ends (exclusive)
        r_on, s_on = np.nonzero(d == 1)
        _, e_off = np.nonzero(d == -1)
        if r_on.size:
            merge = (r_on[1:] == r_on[:-1]) & (s_on[1:] - e_off[:-1] < tol)
            first = np.concatenate([[True], ~merge])
            last = np.concatenate([~merge, [True]])
            r_on, s_on, e_off = r_on[first], s_on[first], e_off[last]
        self.row, self.start, self.end = r_on, s_on, e_off
        self.tol = tol
        self.stride = n + 1
        self._key_end = r_on * self.stride + e_off  # sorted: row-major, runs in time order

    def _next(self, r: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First bridged run of row r ending after frame i: (found, start, end)."""
        if self.row.size == 0:
            z = np.zeros_like(i)
            return np.zeros(i.shape, bool), z, z
        idx = np.searchsorted(self._key_end, r * self.stride + i, side="right")
        k = np.minimum(idx, self.row.size - 1)
        found = (idx < self.row.size) & (self.row[k] == r)
        return found, self.start[k], self.end[k]

    def natural_end(self, r: np.ndarray, i: np.ndarray) -> np.ndarray:
        """Exclusive end of a note continued from frame ``i``: the first j >= i where ``tol``
        frames below threshold begin (so j = i when frames i.. are below for >= tol frames)."""
        found, s, e = self._next(r, i)
        return np.where(found & (s - i < self.tol), e, i)

    def containing(self, r: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) of the bridged run holding above-threshold frame ``t`` of row ``r``."""
        _, s, e = self._next(r, t)
        return s, e


def _min_note_frames(min_note_ms: float, hop_length: int, sr: int) -> int:
    """Fewest frames a note may span: ceil(min_note_ms at the frame rate), at least 1."""
    return max(1, math.ceil(float(min_note_ms) * (sr / hop_length) / 1000.0 - 1e-9))


def decode_events(
    onset: np.ndarray,
    frame: np.ndarray,
    *,
    onset_threshold: float,
    frame_threshold: float,
    min_note_ms: float,
    energy_tolerance_frames: int = DEFAULT_ENERGY_TOLERANCE_FRAMES,
    infer_onsets: bool = True,
    onset_diff_frames: int = DEFAULT_ONSET_DIFF_FRAMES,
    neighbour_suppression: bool = True,
    recover_onsetless: bool = True,
    hop_length: int = HOP_LENGTH,
    sr: int = SAMPLE_RATE,
    preclaimed: NoteEvents | None = None,
) -> NoteEvents:
    """Decode posteriorgrams into notes in frame units (see module docstring for the algorithm).

    Parameters are those of :func:`decode_notes`, plus ``preclaimed``: notes (frame units,
    relative to column 0) decoded earlier whose frames are claimed before decoding starts; the
    streaming decoder passes the already emitted notes that reach into its buffer.
    Returns :class:`NoteEvents` sorted by start.
    """
    onset, frame = _check_posteriors(onset, frame)
    _check_params(onset_threshold, frame_threshold, min_note_ms, energy_tolerance_frames, onset_diff_frames)
    rows, n = frame.shape
    if n == 0:
        return _empty_events()
    tol = int(energy_tolerance_frames)
    min_frames = _min_note_frames(min_note_ms, hop_length, sr)

    if infer_onsets:
        onset = add_inferred_onsets(onset, frame, onset_diff_frames=int(onset_diff_frames))

    # --- vectorised precomputation ------------------------------------------------------------
    above = frame >= frame_threshold
    runs = _BridgedRuns(above, tol)

    neg = np.full((rows, 1), -np.inf, np.float32)
    prev_o = np.concatenate([neg, onset[:, :-1]], axis=1)
    next_o = np.concatenate([onset[:, 1:], neg], axis=1)
    peaks = (onset >= onset_threshold) & (onset > prev_o) & (onset >= next_o)
    pr, pt = np.nonzero(peaks)
    # Latest first; within a frame the stronger onset, then the stronger frame posterior, first.
    order = np.lexsort((-frame[pr, pt], -onset[pr, pt], -pt))
    pr, pt = pr[order], pt[order]
    p_end = runs.natural_end(pr, pt + 1)  # where each note would end on its own

    claimed = np.zeros((rows, n + 1), bool)
    out_s: list[int] = []
    out_e: list[int] = []
    out_r: list[int] = []

    def claim(r: int, s: int, e: int, neighbours: bool) -> None:
        if neighbours:
            claimed[max(0, r - 1):r + 2, s:e] = True
        else:
            claimed[r, s:e] = True

    def last_above_before(r: int, lo: int, c: int) -> int:
        """1 + last frame in [lo, c) above threshold, or lo if none (end of a cut note)."""
        part = above[r, lo:c]
        return lo + len(part) - int(np.argmax(part[::-1])) if part.any() else lo

    if preclaimed is not None:
        for s, e, r in zip(preclaimed.start.tolist(), preclaimed.end.tolist(), preclaimed.row.tolist()):
            s, e = max(s, 0), min(e, n)
            if e > s and 0 <= r < rows:
                claim(r, s, e, neighbour_suppression)

    # --- onset stage: latest first -------------------------------------------------------------
    for r, s, e in zip(pr.tolist(), pt.tolist(), p_end.tolist()):
        if claimed[r, s]:
            continue
        held = claimed[r, s + 1:e]
        if held.any():  # stop before the first frame another note holds
            e = last_above_before(r, s + 1, s + 1 + int(np.argmax(held)))
        if e - s < min_frames:
            continue
        claim(r, s, e, neighbour_suppression)
        out_s.append(s)
        out_e.append(e)
        out_r.append(r)

    # --- recovery stage: onset-less notes from the strongest remaining frames -----------------
    if recover_onsetless:
        cr, ct = np.nonzero(above & ~claimed[:, :n])
        if cr.size:
            corder = np.argsort(-frame[cr, ct], kind="stable")
            cr, ct = cr[corder], ct[corder]
            c_start, c_end = runs.containing(cr, ct)
            for r, t, s, e in zip(cr.tolist(), ct.tolist(), c_start.tolist(), c_end.tolist()):
                if claimed[r, t]:
                    continue
                held = claimed[r, t + 1:e]
                if held.any():
                    e = last_above_before(r, t + 1, t + 1 + int(np.argmax(held)))
                held = claimed[r, s:t]
                if held.any():
                    c = t - 1 - int(np.argmax(held[::-1]))  # last held frame before t
                    s = c + 1 + int(np.argmax(above[r, c + 1:t + 1]))  # first above frame after it
                keep = e - s >= min_frames
                claim(r, s, e, neighbour_suppression and keep)
                if keep:
                    out_s.append(s)
                    out_e.append(e)
                    out_r.append(r)

    if not out_s:
        return _empty_events()
    start = np.asarray(out_s, dtype=np.int64)
    end = np.asarray(out_e, dtype=np.int64)
    row = np.asarray(out_r, dtype=np.int64)
    o = np.lexsort((start, row))  # notes on one row never overlap: the bounds below are sorted
    start, end, row = start[o], end[o], row[o]
    # Mean posterior per note: a sequential float64 sum over the same values, so it does not
    # depend on where the posteriorgram was cut (streaming gives bit-identical results).
    flat = np.concatenate([frame.ravel(), np.zeros(1, np.float32)])
    bounds = np.stack([row * n + start, row * n + end], axis=1).ravel()
    amp = np.add.reduceat(flat, bounds, dtype=np.float64)[0::2] / (end - start)
    o = np.lexsort((row, start))
    return NoteEvents(start[o], end[o], row[o], amp[o])


def events_to_notes(events: NoteEvents, *, frame_offset: int = 0, hop_length: int = HOP_LENGTH,
                    sr: int = SAMPLE_RATE, track: int = 0) -> list[Note]:
    """Convert frame-unit events to :class:`Note` objects (times via ``frames_to_seconds``)."""
    starts = frames_to_seconds(events.start + frame_offset, hop_length=hop_length, sr=sr).tolist()
    ends = frames_to_seconds(events.end + frame_offset, hop_length=hop_length, sr=sr).tolist()
    amps = np.clip(events.amplitude, 0.0, 1.0)
    vels = np.maximum(1, np.rint(127.0 * amps)).astype(int).tolist()
    pitches = (events.row + MIDI_MIN).tolist()
    return [Note(s, e, p, v, c, track) for s, e, p, v, c in zip(starts, ends, pitches, vels, amps.tolist())]


def decode_notes(
    onset: np.ndarray,
    frame: np.ndarray,
    *,
    onset_threshold: float,
    frame_threshold: float,
    min_note_ms: float,
    energy_tolerance_frames: int = DEFAULT_ENERGY_TOLERANCE_FRAMES,
    infer_onsets: bool = True,
    onset_diff_frames: int = DEFAULT_ONSET_DIFF_FRAMES,
    neighbour_suppression: bool = True,
    recover_onsetless: bool = True,
    frame_offset: int = 0,
    hop_length: int = HOP_LENGTH,
    sr: int = SAMPLE_RATE,
    track: int = 0,
) -> list[Note]:
    """Decode onset / frame posteriorgrams into notes.

    Parameters
    ----------
    onset, frame : ndarray [shape=(n_pitches, n_frames)]
        Onset and frame posteriors in [0, 1]; row r is MIDI pitch ``MIDI_MIN + r``.
    onset_threshold : float
        Minimum onset peak (after onset inference) that starts a note.
    frame_threshold : float
        Frame posterior a note must keep (apart from short dips) to continue.
    min_note_ms : float
        Notes shorter than this (milliseconds) are dropped.
    energy_tolerance_frames : int
        Runs of fewer than this many frames below ``frame_threshold`` do not end a note.
    infer_onsets : bool
        Add onset evidence from sharp rises of the frame posterior.
    onset_diff_frames : int
        Frames over which a rise must hold to count as an inferred onset.
    neighbour_suppression : bool
        A kept note also claims the same frames one semitone up and down.
    recover_onsetless : bool
        Run the recovery stage for notes without an onset peak.
    frame_offset : int
        Absolute index of column 0 (for posteriors cut from a longer signal).
    hop_length, sr : int
        Frame hop (samples) and rate (Hz) of the posteriors; they set the frame rate.
    track : int
        Track index given to every note.

    Returns
    -------
    list of Note
        Sorted by start time, then pitch.
    """
    events = decode_events(
        onset, frame, onset_threshold=onset_threshold, frame_threshold=frame_threshold,
        min_note_ms=min_note_ms, energy_tolerance_frames=energy_tolerance_frames,
        infer_onsets=infer_onsets, onset_diff_frames=onset_diff_frames,
        neighbour_suppression=neighbour_suppression, recover_onsetless=recover_onsetless,
        hop_length=hop_length, sr=sr)
    return events_to_notes(events, frame_offset=frame_offset, hop_length=hop_length, sr=sr, track=track)


class StreamingDecoder:
    """Decode notes from posteriors that arrive in time order, holding only a bounded tail.

    Feed consecutive posterior blocks with :meth:`push`; it returns the notes that can no longer
    change; :meth:`finish` returns the rest. Each decode runs on the frames after the earliest
    still-open note (minus a look-back margin), and a note is emitted only once its end lies a
    safety margin before the newest frame, so notes crossing block seams are not split and the
    result equals one-pass :func:`decode_notes` on the whole posteriorgram.

    Parameters
    ----------
    decode_kwargs
        Keyword arguments of :func:`decode_events` (thresholds, tolerances, hop_length, sr).
    min_decode_frames : int
        Decode only once this many new frames have arrived (amortises the look-back).
    max_open_frames : int
        A note still open after this many frames is emitted cut at the commit point (and the
        rest of it is picked up as a new note), which bounds memory on endless drones.
    track : int
        Track index of the notes.
    """

    def __init__(self, *, min_decode_frames: int = 2048, max_open_frames: int = 1 << 15, track: int = 0,
                 **decode_kwargs) -> None:
        for key in THRESHOLD_KEYS:
            if key not in decode_kwargs:
                raise ParameterError(f"StreamingDecoder needs {key}")
        _check_params(decode_kwargs["onset_threshold"], decode_kwargs["frame_threshold"],
                      decode_kwargs["min_note_ms"],
                      decode_kwargs.get("energy_tolerance_frames", DEFAULT_ENERGY_TOLERANCE_FRAMES),
                      decode_kwargs.get("onset_diff_frames", DEFAULT_ONSET_DIFF_FRAMES))
        self._kw = decode_kwargs
        self._hop = decode_kwargs.get("hop_length", HOP_LENGTH)
        self._sr = decode_kwargs.get("sr", SAMPLE_RATE)
        tol = int(decode_kwargs.get("energy_tolerance_frames", DEFAULT_ENERGY_TOLERANCE_FRAMES))
        diff = int(decode_kwargs.get("onset_diff_frames", DEFAULT_ONSET_DIFF_FRAMES))
        self.margin = tol + diff + 4
        self._tol = tol
        self._min_frames = _min_note_frames(decode_kwargs["min_note_ms"], self._hop, self._sr)
        self.min_decode_frames = max(int(min_decode_frames), 1)
        self.max_open_frames = max(int(max_open_frames), 4 * self.margin)
        self.track = track
        self._blocks: list[tuple[np.ndarray, np.ndarray]] = []
        self._buf_start = 0  # absolute frame index of the first buffered frame
        self._buf_len = 0
        self._new = 0  # frames pushed since the last decode
        self._committed = 0  # notes with end <= this were emitted already
        self._recent = _empty_events()  # emitted notes that may still reach into the buffer

    @property
    def buffered_frames(self) -> int:
        return self._buf_len

    def push(self, onset: np.ndarray, frame: np.ndarray) -> list[Note]:
        """Append posterior columns ``[shape=(n_pitches, k)]``; return newly final notes."""
        onset, frame = _check_posteriors(onset, frame)
        if onset.shape[1] == 0:
            return []
        self._blocks.append((onset, frame))
        self._buf_len += onset.shape[1]
        self._new += onset.shape[1]
        if self._new < self.min_decode_frames or self._buf_len < 2 * self.margin:
            return []
        return self._step(final=False)

    def finish(self) -> list[Note]:
        """Decode what is left; the decoder is then empty."""
        notes = self._step(final=True) if self._buf_len else []
        self._blocks, self._buf_len, self._new = [], 0, 0
        self._recent = _empty_events()
        return notes

    def _step(self, *, final: bool) -> list[Note]:
        onset = np.concatenate([b[0] for b in self._blocks], axis=1)
        frame = np.concatenate([b[1] for b in self._blocks], axis=1)
        pre = self._recent.shifted(-self._buf_start) if len(self._recent) else None
        ev = decode_events(onset, frame, preclaimed=pre, **self._kw).shifted(self._buf_start)
        buf_end = self._buf_start + self._buf_len
        self._new = 0
        fresh = ev.end > self._committed
        if final:
            emit = ev.select(fresh)
        else:
            # Notes still running into the last `margin` frames are open (they may grow). Any note
            # near the end, open or dropped as too short there, may still claim frames and cut
            # earlier notes, so only notes ending `tol` frames before all of them are final.
            open_ = ev.end > buf_end - self.margin
            hard = buf_end - self.margin - self._min_frames - self._tol
            long_ = open_ & (ev.start < buf_end - self.max_open_frames)
            safe = hard
            if (open_ & ~long_).any():
                safe = min(safe, int(ev.start[open_ & ~long_].min()) - self._tol)
            emit = ev.select(fresh & ~open_ & (ev.end <= safe))
            if long_.any():
                longs = ev.select(long_)
                logger.warning("%d note(s) open for > %d frames: emitted cut at frame %d",
                               len(longs), self.max_open_frames, hard)
                emit = NoteEvents.concatenate([emit, NoteEvents(longs.start, np.full_like(longs.end, hard),
                                                                longs.row, longs.amplitude)])
            pending = ev.select(~long_ & (ev.end > safe))
            keep_from = min(int(pending.start.min()) if len(pending) else safe, safe) - self.margin
            keep_from = max(keep_from, self._buf_start)
            drop = keep_from - self._buf_start
            self._blocks = [(onset[:, drop:], frame[:, drop:])]
            self._buf_start = keep_from
            self._buf_len -= drop
            self._committed = max(self._committed, safe)
            recent = NoteEvents.concatenate([self._recent, emit])
            self._recent = recent.select(recent.end > self._buf_start)
        order = np.lexsort((emit.row, emit.start))
        return events_to_notes(emit.select(order), hop_length=self._hop, sr=self._sr, track=self.track)
