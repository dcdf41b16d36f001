"""Notes and transcriptions: frozen containers plus MIDI / CSV / JSON / plot writers and loaders.

Conventions
-----------
- Times are seconds from the start of the audio (``start_s`` inclusive, ``end_s`` exclusive).
- ``pitch`` is a MIDI note number (int, ``MIDI_MIN`` .. ``MIDI_MAX`` for model output).
- ``velocity`` is a MIDI velocity 1..127; ``confidence`` is the model's mean frame posterior over
  the note, in [0, 1] (notes loaded from MIDI, which cannot store it, get 1.0).
- ``track`` is a 0-based index into :attr:`Transcription.tracks`.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from septimbre.utils.errors import NoteFileError, ParameterError, require

logger = logging.getLogger(__name__)

#: Ticks per quarter note of written MIDI files (at 120 bpm one tick is ~0.52 ms).
MIDI_RESOLUTION: int = 960
#: General MIDI program (0-based) of tracks whose instrument is unknown: acoustic grand piano.
DEFAULT_PROGRAM: int = 0
#: Version of the JSON layout written by :meth:`Transcription.to_json`.
JSON_FORMAT_VERSION: int = 1
CSV_COLUMNS: tuple[str, ...] = ("start_s", "end_s", "pitch", "velocity", "confidence", "track")


@dataclass(frozen=True, order=True)
class Note:
    """One transcribed note.

    Parameters
    ----------
    start_s, end_s : float
        Onset and offset in seconds (``end_s > start_s``).
    pitch : int
        MIDI note number.
    velocity : int
        MIDI velocity, 1..127.
    confidence : float
        Mean frame posterior over the note, in [0, 1].
    track : int
        0-based track index.
    """

    start_s: float
    end_s: float
    pitch: int
    velocity: int = 100
    confidence: float = 1.0
    track: int = 0

    def __post_init__(self) -> None:
        if not self.end_s > self.start_s:
            raise ParameterError(f"note must end after it starts: {self.start_s} .. {self.end_s} s")
        if not 0 <= self.pitch <= 127:
            raise ParameterError(f"MIDI pitch out of range 0..127: {self.pitch}")
        if not 1 <= self.velocity <= 127:
            raise ParameterError(f"MIDI velocity out of range 1..127: {self.velocity}")
        if self.track < 0:
            raise ParameterError(f"track index must be >= 0: {self.track}")

    @property
    def duration_s(self) -> float:
        """Length of the note in seconds."""
        return self.end_s - self.start_s

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict form (the JSON / CSV row)."""
        return {
            "start_s": float(self.start_s),
            "end_s": float(self.end_s),
            "pitch": int(self.pitch),
            "velocity": int(self.velocity),
            "confidence": float(self.confidence),
            "track": int(self.track),
        }


@dataclass(frozen=True)
class Track:
    """One output track (an instrument / timbre cluster).

    Parameters
    ----------
    index : int
        0-based index, the value of :attr:`Note.track` for its notes.
    name : str
        Name written into the MIDI instrument.
    program : int
        General MIDI program (0-based) written into the MIDI file.
    """

    index: int
    name: str
    program: int = DEFAULT_PROGRAM

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "program": self.program}


def _sort_key(note: Note) -> tuple:
    return (note.start_s, note.track, note.pitch, note.end_s)


@dataclass(frozen=True)
class Transcription:
    """The result of transcribing one recording.

    Parameters
    ----------
    notes : tuple of Note
        Sorted by start time (then track, pitch); any iterable is accepted and sorted.
    tracks : tuple of Track
        One entry per track; every ``note.track`` indexes into it. Defaults to one track per
        distinct note track index (at least one).
    duration_s : float
        Length of the transcribed audio in seconds.
    sample_rate : int or None
        Rate (Hz) of the audio the model ran on.
    source : str or None
        File the audio came from, if any.
    metadata : mapping
        Free-form, JSON-able facts (model name, thresholds used).
    """

    notes: tuple[Note, ...]
    tracks: tuple[Track, ...] = ()
    duration_s: float = 0.0
    sample_rate: int | None = None
    source: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        notes = tuple(sorted(self.notes, key=_sort_key))
        object.__setattr__(self, "notes", notes)
        tracks = tuple(self.tracks)
        if not tracks:
            n = max((n.track for n in notes), default=0) + 1
            tracks = tuple(Track(i, f"track {i}") for i in range(n))
        for i, t in enumerate(tracks):
            if t.index != i:
                raise ParameterError(f"track {i} has index {t.index}; tracks must be numbered 0..n-1")
        bad = [n for n in notes if n.track >= len(tracks)]
        if bad:
            raise ParameterError(f"note on track {bad[0].track} but only {len(tracks)} track(s)")
        object.__setattr__(self, "tracks", tracks)
        if self.duration_s < 0:
            raise ParameterError(f"duration_s must be >= 0: {self.duration_s}")
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def __len__(self) -> int:
        return len(self.notes)

    def track_notes(self, track: int) -> tuple[Note, ...]:
        """Notes of one track, in start order."""
        return tuple(n for n in self.notes if n.track == track)

    # ------------------------------------------------------------------ writers
    def to_pretty_midi(self):
        """A ``pretty_midi.PrettyMIDI`` with one named Instrument per track (empty tracks kept)."""
        import pretty_midi

        pm = pretty_midi.PrettyMIDI(resolution=MIDI_RESOLUTION, initial_tempo=120.0)
        insts = [pretty_midi.Instrument(program=t.program, name=t.name) for t in self.tracks]
        for n in self.notes:
            insts[n.track].notes.append(
                pretty_midi.Note(velocity=int(n.velocity), pitch=int(n.pitch), start=float(n.start_s),
                                 end=float(n.end_s))
            )
        pm.instruments.extend(insts)
        return pm

    def to_midi(self, path: str | Path) -> Path:
        """Write a standard MIDI file, one instrument per track. Returns the path."""
        path = Path(path)
        self.to_pretty_midi().write(str(path))
        return path

    def to_csv(self, path: str | Path) -> Path:
        """Write one row per note with columns ``CSV_COLUMNS`` (header included). Returns the path."""
        path = Path(path)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS))
            writer.writeheader()
            for n in self.notes:
                writer.writerow(n.as_dict())
        return path

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict: format version, duration, rate, source, tracks, notes, metadata."""
        return {
            "format_version": JSON_FORMAT_VERSION,
            "duration_s": float(self.duration_s),
            "sample_rate": self.sample_rate,
            "source": self.source,
            "tracks": [t.as_dict() for t in self.tracks],
            "notes": [n.as_dict() for n in self.notes],
            "metadata": dict(self.metadata),
        }

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON. Returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    def plot(self, path: str | Path, *, title: str | None = None) -> Path:
        """Save a piano roll (time in s vs MIDI pitch), one colour per track. Needs matplotlib."""
        require("matplotlib", "plot")
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch, Rectangle

        path = Path(path)
        fig, ax = plt.subplots(figsize=(max(6.0, min(24.0, 1.0 + self.duration_s / 4)), 4.5))
        cmap = plt.get_cmap("tab10")
        for n in self.notes:
            ax.add_patch(Rectangle((n.start_s, n.pitch - 0.4), n.duration_s, 0.8,
                                   color=cmap(n.track % 10),
                                   alpha=0.4 + 0.6 * min(1.0, max(0.0, n.confidence))))
        pitches = [n.pitch for n in self.notes] or [60]
        ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
        ax.set_xlim(0, max(self.duration_s, max((n.end_s for n in self.notes), default=1.0)))
        ax.set_xlabel("time (s)")
        ax.set_ylabel("MIDI pitch")
        ax.set_title(title or (Path(self.source).name if self.source else "transcription"))
        ax.legend(handles=[Patch(color=cmap(t.index % 10), label=t.name) for t in self.tracks],
                  loc="upper right", fontsize="small")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    # ------------------------------------------------------------------ loaders
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transcription:
        """Inverse of :meth:`to_dict`."""
        return cls(
            notes=tuple(Note(**n) for n in data["notes"]),
            tracks=tuple(Track(**t) for t in data.get("tracks", ())),
            duration_s=float(data.get("duration_s", 0.0)),
            sample_rate=data.get("sample_rate"),
            source=data.get("source"),
            metadata=data.get("metadata", {}),
        )

    @classmethod
    def from_json(cls, path: str | Path) -> Transcription:
        """Load a file written by :meth:`to_json`.

        Raises :class:`~septimbre.utils.errors.NoteFileError` when the file is not such a JSON.
        """
        text = Path(path).read_text()
        try:
            return cls.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise NoteFileError(f"{path}: not a septimbre transcription JSON ({exc!r})") from exc

    @classmethod
    def from_csv(cls, path: str | Path, *, duration_s: float | None = None) -> Transcription:
        """Load a file written by :meth:`to_csv` (tracks are re-created with default names).

        Only ``start_s``, ``end_s`` and ``pitch`` columns are required; a missing ``velocity``,
        ``confidence`` or ``track`` column reads as 100, 1.0 and 0. Raises
        :class:`~septimbre.utils.errors.NoteFileError` naming the file (and the row) otherwise.
        """
        defaults = {"velocity": "100", "confidence": "1.0", "track": "0"}
        notes = []
        with Path(path).open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in ("start_s", "end_s", "pitch") if c not in (reader.fieldnames or ())]
            if missing:
                raise NoteFileError(f"{path}: not a note CSV: no column {', '.join(missing)} "
                                    f"(header: {', '.join(reader.fieldnames or ()) or 'none'})")
            for row_no, r in enumerate(reader, start=2):
                r = {**defaults, **{k: v for k, v in r.items() if v not in (None, "")}}
                try:
                    notes.append(Note(float(r["start_s"]), float(r["end_s"]), int(r["pitch"]), int(r["velocity"]),
                                      float(r["confidence"]), int(r["track"])))
                except (KeyError, ValueError) as exc:
                    raise NoteFileError(f"{path}: line {row_no}: {exc}") from exc
        dur = duration_s if duration_s is not None else max((n.end_s for n in notes), default=0.0)
        return cls(tuple(notes), duration_s=dur, source=None)

    @classmethod
    def from_midi(cls, path: str | Path) -> Transcription:
        """Load a MIDI file: each pretty_midi Instrument becomes a track (confidence 1.0).

        Raises :class:`~septimbre.utils.errors.NoteFileError` when the file is not a readable MIDI file.
        """
        import pretty_midi

        if not Path(path).is_file():
            raise FileNotFoundError(f"no such file: {path}")
        try:
            pm = pretty_midi.PrettyMIDI(str(path))
        except Exception as exc:  # mido / pretty_midi raise many kinds on a corrupt file
            raise NoteFileError(f"{path}: cannot read as MIDI ({exc!r})") from exc
        tracks, notes = [], []
        for i, inst in enumerate(pm.instruments):
            tracks.append(Track(i, inst.name or f"track {i}", int(inst.program)))
            notes.extend(Note(float(n.start), float(n.end), int(n.pitch), max(1, int(n.velocity)), 1.0, i)
                         for n in inst.notes if n.end > n.start)
        return cls(tuple(notes), tuple(tracks), duration_s=float(pm.get_end_time()), source=str(path))

