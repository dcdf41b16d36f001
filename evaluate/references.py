"""Evaluation sets: audio files paired with reference notes.

- **TRIOS** (real recordings, development/evaluation only): per piece folder, ``mix.flac`` against
  every pitched instrument's MIDI file merged; the drums (``kick``, ``ride``, ``snare``) are left
  out. Read with pretty_midi, independently of the training code.
- **Synthetic** sets written by ``python -m septimbre.data build`` (``manifest.jsonl`` +
  ``examples/NNNNNN.npz``): the ``mix`` is the audio, the reference notes come from the ``rolls``
  (all instruments) — a note starts at an onset frame (2) or at a sustain frame (1) after silence
  and lasts over the following sustain frames; frame ``i`` is time ``i / FRAME_RATE``. The mix is
  written to a temporary WAV at SAMPLE_RATE so that every system reads a file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from septimbre.utils.constants import FRAME_RATE, MIDI_MIN, SAMPLE_RATE
from septimbre.utils.errors import MissingResourceError, ParameterError

logger = logging.getLogger(__name__)

#: TRIOS stems that are unpitched drums, excluded from pitched-note scoring.
TRIOS_DRUMS: frozenset[str] = frozenset({"kick", "ride", "snare"})
#: Names of the sets ``python -m septimbre.evaluate transcription --sets`` knows.
SET_NAMES: tuple[str, ...] = ("trios", "trios-stems", "trios-nopiano", "synthetic-val", "unseen")
#: TRIOS parts left out of the "trios-nopiano" set (the accompanying keyboard).
TRIOS_KEYBOARDS: frozenset[str] = frozenset({"piano"})


@dataclass(frozen=True)
class Piece:
    """One evaluation item: an audio file and its reference notes (n, 3) = (start_s, end_s, pitch)."""

    set_name: str
    name: str
    audio_path: Path
    reference: np.ndarray
    #: Instrument of each reference row (TRIOS: the MIDI file's name); None where unknown.
    parts: tuple[str, ...] | None = None
    #: Number of pitched instruments in the mix (TRIOS: its pitched MIDI files); None where unknown.
    n_instruments: int | None = None


def default_trios_dir() -> Path:
    """``$SEPTIMBRE_TRIOS``, else ``shared/data/trios`` beside the source checkout."""
    env = os.environ.get("SEPTIMBRE_TRIOS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "trios"


def midi_notes(path: Path) -> np.ndarray:
    """All notes of a MIDI file (drum tracks included), (n, 3) float64 sorted by onset."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    rows = [(n.start, n.end, n.pitch) for inst in pm.instruments for n in inst.notes]
    arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
    return arr[np.lexsort((arr[:, 2], arr[:, 0]))]


def trios_pieces(root: Path) -> list[Piece]:
    """TRIOS pieces under ``root`` (one folder each with ``mix.flac`` and ``<instrument>.mid``)."""
    root = Path(root)
    if not root.is_dir():
        raise MissingResourceError(f"TRIOS folder not found: {root} (pass --trios DIR)")
    pieces = []
    for folder in sorted(p for p in root.iterdir() if (p / "mix.flac").is_file()):
        mids = [m for m in sorted(folder.glob("*.mid")) if m.stem not in TRIOS_DRUMS]
        if not mids:
            logger.warning("%s: no pitched MIDI file, skipped", folder)
            continue
        per_file = [midi_notes(m) for m in mids]
        ref = np.concatenate(per_file)
        labels = np.concatenate([[m.stem] * len(n) for m, n in zip(mids, per_file)])
        order = np.lexsort((ref[:, 2], ref[:, 0]))
        pieces.append(Piece("trios", folder.name, folder / "mix.flac", ref[order],
                            tuple(str(x) for x in labels[order]), n_instruments=len(mids)))
    if not pieces:
        raise MissingResourceError(f"no TRIOS piece (folder with mix.flac) in {root}")
    return pieces


def trios_stem_pieces(root: Path) -> list[Piece]:
    """Each pitched TRIOS part on its own: ``<instrument>.flac`` against ``<instrument>.mid``.

    Pieces are named ``<piece>/<instrument>`` (one instrument each). Beside the recall of the same
    part in the mix (the recall-by-instrument table of the "trios" set) they tell notes lost to the
    other instruments from notes the model does not hear in that timbre at all. Parts without a
    recording are skipped with a warning.
    """
    pieces = []
    for mix_piece in trios_pieces(root):
        folder = Path(mix_piece.audio_path).parent
        for name in dict.fromkeys(mix_piece.parts or ()):
            audio = folder / f"{name}.flac"
            if not audio.is_file():
                logger.warning("%s: no %s, part skipped", folder, audio.name)
                continue
            rows = np.array([p == name for p in mix_piece.parts])
            pieces.append(Piece("trios-stems", f"{mix_piece.name}/{name}", audio, mix_piece.reference[rows],
                                n_instruments=1))
    if not pieces:
        raise MissingResourceError(f"no TRIOS part recording (<instrument>.flac) in {root}")
    return pieces


def trios_nopiano_pieces(root: Path, tmp_dir: Path) -> list[Piece]:
    """Each TRIOS piece without its piano: its wind and string part recordings summed.

    A real ensemble of melodic instruments only (brahms: horn + violin, lussier: bassoon + trumpet,
    mozart: clarinet + viola), the kind of ensemble septimbre's held-out test material is; the
    recordings are separate tracks whose sum is the published mix, so the sum is what the
    ensemble alone would have sounded like in that room. Pieces with fewer than two such parts
    (take_five: saxophone only) are skipped. Each sum is written to ``tmp_dir`` as a WAV at
    SAMPLE_RATE; reference rows keep their part names.
    """
    import soundfile

    from septimbre.utils.audio import load_audio

    pieces = []
    for mix_piece in trios_pieces(root):
        folder = Path(mix_piece.audio_path).parent
        names = [n for n in dict.fromkeys(mix_piece.parts or ()) if n not in TRIOS_KEYBOARDS]
        if len(names) < 2 or not all((folder / f"{n}.flac").is_file() for n in names):
            logger.info("%s: fewer than two melodic part recordings, left out of trios-nopiano", folder.name)
            continue
        tracks = [load_audio(folder / f"{n}.flac", sr=SAMPLE_RATE) for n in names]
        length = max(len(t) for t in tracks)
        mix = np.zeros(length, np.float32)
        for t in tracks:
            mix[: len(t)] += t
        wav = Path(tmp_dir) / f"trios-nopiano-{mix_piece.name}.wav"
        soundfile.write(wav, mix, SAMPLE_RATE, subtype="FLOAT")
        rows = np.array([p in names for p in mix_piece.parts])
        pieces.append(Piece("trios-nopiano", mix_piece.name, wav, mix_piece.reference[rows],
                            tuple(p for p in mix_piece.parts if p in names), n_instruments=len(names)))
    if not pieces:
        raise MissingResourceError(f"no TRIOS piece with two or more non-piano part recordings in {root}")
    return pieces


def roll_to_notes(rolls: np.ndarray) -> np.ndarray:
    """Reference notes of data-engine rolls.

    Parameters
    ----------
    rolls : np.ndarray [shape=(n_inst, N_PITCHES, frames) or (N_PITCHES, frames)], uint8
        0 silent, 1 sustain, 2 onset frame; row ``p`` is MIDI ``MIDI_MIN + p``.

    Returns
    -------
    np.ndarray [shape=(n, 3)], float64
        ``(start_s, end_s, pitch)``: start at the onset frame's time, end at the time of the first
        frame after the note; sorted by onset then pitch.
    """
    rolls = np.asarray(rolls)
    if rolls.ndim == 2:
        rolls = rolls[None]
    if rolls.ndim != 3:
        raise ParameterError(f"rolls must be (n_inst, pitches, frames); got {rolls.shape}")
    n_inst, n_pitch, n_fr = rolls.shape
    flat = rolls.reshape(n_inst * n_pitch, n_fr).astype(np.int8)
    active = flat > 0
    prev = np.concatenate([np.zeros((len(flat), 1), bool), active[:, :-1]], axis=1)
    starts = active & (~prev | (flat == 2))
    # A note ends where the row falls silent or the next note starts.
    nxt_start = np.concatenate([starts[:, 1:], np.zeros((len(flat), 1), bool)], axis=1)
    nxt_active = np.concatenate([active[:, 1:], np.zeros((len(flat), 1), bool)], axis=1)
    ends = active & (~nxt_active | nxt_start)
    s_row, s_col = np.nonzero(starts)
    _e_row, e_col = np.nonzero(ends)  # row-major order pairs each start with its end
    pitch = (s_row % n_pitch) + MIDI_MIN
    out = np.stack([s_col / FRAME_RATE, (e_col + 1) / FRAME_RATE, pitch], axis=1).astype(np.float64)
    return out[np.lexsort((out[:, 2], out[:, 0]))] if len(out) else out.reshape(0, 3)


def synthetic_examples(root: Path) -> list[Path]:
    """Example files listed by ``root/manifest.jsonl`` (or every ``examples/*.npz`` without one)."""
    root = Path(root)
    manifest = root / "manifest.jsonl"
    if manifest.is_file():
        paths = []
        for line in manifest.read_text().splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            paths.append(root / (entry.get("file") or f"examples/{int(entry['index']):06d}.npz"))
    else:
        paths = sorted((root / "examples").glob("*.npz"))
    if not paths:
        raise MissingResourceError(f"no synthetic examples in {root}")
    return paths


def synthetic_pieces(root: Path, set_name: str, tmp_dir: Path, *, limit: int | None = None) -> Iterator[Piece]:
    """Pieces of a rendered synthetic set; each mix written to ``tmp_dir`` as a WAV at SAMPLE_RATE."""
    import soundfile

    for path in synthetic_examples(root)[:limit]:
        with np.load(path) as z:
            mix = z["mix"].astype(np.float32)
            rolls = z["rolls"]
            ref = roll_to_notes(rolls)
        wav = Path(tmp_dir) / f"{set_name}-{path.stem}.wav"
        soundfile.write(wav, mix, SAMPLE_RATE, subtype="FLOAT")
        yield Piece(set_name, path.stem, wav, ref, n_instruments=int(rolls.shape[0]) if rolls.ndim == 3 else 1)


def set_pieces(name: str, tmp_dir: Path, *, trios_dir: Path | None = None, synthetic_dir: Path | None = None,
               unseen_dir: Path | None = None, limit: int | None = None) -> list[Piece]:
    """The pieces of one named set (one of :data:`SET_NAMES`).

    TRIOS sets read ``trios_dir``; "synthetic-val" and "unseen" read ``synthetic_dir`` and
    ``unseen_dir`` (at most ``limit`` examples each). Audio that has to be written (mixes without
    the piano, synthetic mixes) goes to ``tmp_dir``, which must outlive the pieces' use.

    Raises
    ------
    ParameterError
        An unknown set, or a set whose folder was not given.
    """
    if name in ("trios", "trios-stems", "trios-nopiano"):
        if trios_dir is None:
            raise ParameterError(f"the {name} set needs --trios DIR")
        if name == "trios":
            return trios_pieces(trios_dir)
        if name == "trios-stems":
            return trios_stem_pieces(trios_dir)
        return trios_nopiano_pieces(trios_dir, Path(tmp_dir))
    if name in ("synthetic-val", "unseen"):
        root = synthetic_dir if name == "synthetic-val" else unseen_dir
        if root is None:
            raise ParameterError(f"the {name} set needs --{name.split('-')[0]} DIR")
        return list(synthetic_pieces(root, name, Path(tmp_dir), limit=limit))
    raise ParameterError(f"unknown set {name!r}; known: {', '.join(SET_NAMES)}")
