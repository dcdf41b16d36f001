"""Loader of the TRIOS development set (real recordings with aligned per-instrument MIDI).

Development / evaluation only: never train on it. Pitched instruments only: the drum tracks
(kick, ride, snare of ``take_five``) are left out of stems, rolls and notes (their sound stays in
the recorded mixture). Audio is resampled to SAMPLE_RATE with soxr; targets follow
septimbre.data.targets (onset 2 / sustain 1 / silent 0, frames of HOP_LENGTH).

Folder: the ``root`` argument, else ``$SEPTIMBRE_TRIOS``, else ``<repo>/../shared/data/trios``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from septimbre.data.notes import ScoreNote
from septimbre.data.targets import notes_to_roll
from septimbre.utils.audio import load_audio
from septimbre.utils.constants import N_PITCHES, SAMPLE_RATE, midi_to_hz, n_frames
from septimbre.utils.errors import MissingResourceError

#: Environment variable naming the TRIOS folder.
TRIOS_ENV = "SEPTIMBRE_TRIOS"
#: Unpitched drum tracks, excluded from pitched targets.
DRUM_TRACKS = ("kick", "ride", "snare")
#: GM program closest to each TRIOS instrument (for reports and timbre matching).
INSTRUMENT_PROGRAMS = {
    "piano": 0,
    "violin": 40,
    "viola": 41,
    "horn": 60,
    "trumpet": 56,
    "bassoon": 70,
    "clarinet": 71,
    "saxophone": 65,
}


@dataclass(frozen=True)
class TriosPiece:
    """One TRIOS piece.

    Attributes
    ----------
    name : str
        Folder name (``"brahms"``, ``"lussier"``, ``"mozart"``, ``"take_five"``).
    mix : ndarray, float32, shape (samples,)
        The recorded mixture at SAMPLE_RATE (drums included for take_five).
    stems : ndarray, float32, shape (n_inst, samples)
        Recorded pitched stems, same order as ``instruments``.
    rolls : ndarray, uint8, shape (n_inst, N_PITCHES, frames)
        Targets, ``frames == ceil(samples / HOP_LENGTH)``.
    programs : ndarray, int16, shape (n_inst,)
        Closest GM program per instrument (-1 if unknown).
    instruments : tuple of str
        Instrument names (stem file names).
    notes : tuple of tuple of ScoreNote
        Reference notes per instrument (seconds, MIDI pitch), from the aligned MIDI files.
    """

    name: str
    mix: np.ndarray
    stems: np.ndarray
    rolls: np.ndarray
    programs: np.ndarray
    instruments: tuple[str, ...]
    notes: tuple[tuple[ScoreNote, ...], ...]

    def mir_eval_notes(self, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(intervals (n, 2) seconds, pitches (n,) Hz)`` of instrument ``k``, or all merged if None."""
        notes = [n for track in (self.notes if k is None else [self.notes[k]]) for n in track]
        notes.sort(key=lambda n: (n.start_s, n.pitch))
        intervals = np.array([[n.start_s, n.end_s] for n in notes], float).reshape(-1, 2)
        pitches = np.array([midi_to_hz(n.pitch) for n in notes], float)
        return intervals, pitches


def trios_root(root: str | Path | None = None) -> Path:
    """The TRIOS folder (see module docstring); MissingResourceError if it does not exist."""
    if root is None:
        env = os.environ.get(TRIOS_ENV)
        root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data" / "trios"
    root = Path(root)
    if not root.is_dir():
        raise MissingResourceError(f"TRIOS folder not found at {root}; pass root= or set {TRIOS_ENV}")
    return root


def list_pieces(root: str | Path | None = None) -> list[str]:
    """Names of the pieces (sub-folders holding a mix.flac), sorted."""
    r = trios_root(root)
    return sorted(p.name for p in r.iterdir() if (p / "mix.flac").is_file())


def _read_audio(path: Path) -> np.ndarray:
    """A TRIOS recording as mono float32 at SAMPLE_RATE (AudioLoadError names a bad file)."""
    return load_audio(path, sr=SAMPLE_RATE)


def read_notes(path: Path) -> tuple[ScoreNote, ...]:
    """Every note of a MIDI file as ScoreNotes (seconds, MIDI pitch, velocity), sorted by onset then pitch."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    notes = [
        ScoreNote(float(n.start), float(n.end), int(n.pitch), int(n.velocity))
        for inst in pm.instruments
        for n in inst.notes
    ]
    return tuple(sorted(notes, key=lambda n: (n.start_s, n.pitch)))


def load_piece(name: str, *, root: str | Path | None = None) -> TriosPiece:
    """Load one piece: pitched stems, their rolls and notes, and the recorded mix."""
    folder = trios_root(root) / name
    mix = _read_audio(folder / "mix.flac")
    names = sorted(p.stem for p in folder.glob("*.mid") if p.stem not in DRUM_TRACKS)
    stems = [_read_audio(folder / f"{n}.flac") for n in names]
    length = max([mix.shape[0]] + [s.shape[0] for s in stems])

    def pad(x: np.ndarray) -> np.ndarray:
        return np.pad(x, (0, length - x.shape[0]))

    mix = pad(mix)
    stems_a = np.stack([pad(s) for s in stems]) if stems else np.zeros((0, length), np.float32)
    notes = tuple(read_notes(folder / f"{n}.mid") for n in names)
    frames = n_frames(length)
    rolls = (
        np.stack([notes_to_roll(ns, n_frames=frames) for ns in notes])
        if notes
        else np.zeros((0, N_PITCHES, frames), np.uint8)
    )
    programs = np.array([INSTRUMENT_PROGRAMS.get(n, -1) for n in names], np.int16)
    return TriosPiece(name, mix, stems_a, rolls, programs, tuple(names), notes)


def load_trios(root: str | Path | None = None) -> list[TriosPiece]:
    """All pieces, sorted by name."""
    return [load_piece(n, root=root) for n in list_pieces(root)]
