"""Masking curve: how many notes of one TRIOS part are found as another part is turned down.

``python -m septimbre.evaluate masking --piece lussier --part bassoon --masker piano [--model X.onnx]``
re-sums a TRIOS piece from its part recordings (the published mix is their sum) with one part, the
*masker*, left out and then at each gain of ``--gains`` (dB, 0 = as recorded), transcribes every
version with the model's shipped thresholds and prints how many of the *part*'s reference notes
are found (onset within 50 ms, pitch equal, offsets ignored; the merged transcription is matched
against that part's notes alone). It tells notes lost to the masker's loudness, which come back as
it is turned down, from notes lost to its mere presence (a shared pitch already sounding, an onset
on top of the part's), which stay lost at any audible gain. A diagnostic for choosing training
material; thresholds are never chosen here.

``python -m septimbre.evaluate masking ... --render-programs PART_PROGRAM,MASKER_PROGRAM`` asks
instead *whose sound* makes the loss: each of the two parts is also rendered from its MIDI file
with the training soundfonts (GM programs given; needs FluidSynth, the ``data`` extra), scaled to the
recording's median active level, and the part's notes are counted for the recorded and rendered
versions of both, alone and together (the other parts left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from septimbre.evaluate import metrics as M
from septimbre.evaluate.references import midi_notes
from septimbre.evaluate.table import align_columns
from septimbre.utils.constants import SAMPLE_RATE
from septimbre.utils.errors import MissingResourceError, ParameterError

#: Masker gains of the default curve, dB relative to the recording.
DEFAULT_GAINS_DB: tuple[float, ...] = (0.0, -6.0, -12.0, -18.0, -24.0, -36.0)
#: Soundfonts of the swap table: the three the training splits use (the fourth is held out).
SWAP_SOUNDFONTS: tuple[str, ...] = ("TimGM6mb", "sf_GMbank", "MuseScore_General")
#: Blocks of 2048 samples whose RMS is under this fraction of a track's loudest block are not "active".
ACTIVE_FRACTION = 0.03


@dataclass(frozen=True)
class MaskingPoint:
    """The part's notes found with the masker at ``gain_db`` (``None``: the masker left out)."""

    gain_db: float | None
    found: int
    total: int


def piece_tracks(folder: Path) -> dict[str, np.ndarray]:
    """Every part recording of a TRIOS piece folder (``<name>.flac`` except ``mix.flac``), mono at
    SAMPLE_RATE, all cut to the shortest one's length: ``{name: (samples,) float32}``."""
    from septimbre.utils.audio import load_audio

    paths = sorted(p for p in Path(folder).glob("*.flac") if p.stem != "mix")
    if not paths:
        raise MissingResourceError(f"no part recording (<instrument>.flac) in {folder}")
    tracks = {p.stem: load_audio(p, sr=SAMPLE_RATE) for p in paths}
    n = min(len(t) for t in tracks.values())
    return {k: np.asarray(t[:n], np.float32) for k, t in tracks.items()}


def masking_curve(tracks: dict[str, np.ndarray], reference: np.ndarray, masker: str, transcribe, *,
                  gains_db: Sequence[float] = DEFAULT_GAINS_DB) -> list[MaskingPoint]:
    """The part's notes found without the masker, then with it at each gain.

    Parameters
    ----------
    tracks : dict
        Part recordings ``{name: (samples,) float32}`` at SAMPLE_RATE, equal lengths (:func:`piece_tracks`).
    reference : np.ndarray [shape=(n, 3)]
        The part's reference notes ``(start_s, end_s, MIDI pitch)``.
    masker : str
        Name of the track whose gain changes; the others are summed as recorded.
    transcribe : callable
        ``transcribe(audio (samples,) float32) -> (m, 3) (start_s, end_s, MIDI pitch)`` estimated notes.
    gains_db : sequence of float
        Masker gains, dB relative to the recording.
    """
    if masker not in tracks:
        raise ParameterError(f"no track {masker!r} (has: {', '.join(sorted(tracks))})")
    rest = sum(t for k, t in tracks.items() if k != masker)
    points = []
    for gain in [None, *gains_db]:
        audio = rest if gain is None else rest + tracks[masker] * np.float32(10.0 ** (float(gain) / 20.0))
        est = transcribe(np.asarray(audio, np.float32))
        points.append(MaskingPoint(gain, int(M.matched_reference(reference, est).sum()), len(reference)))
    return points


def _transcriber(model: Path | None):
    """``transcribe(audio) -> (m, 3)`` notes with the shipped model or ``model``, shipped thresholds."""
    from septimbre.inference import Transcriber

    tr = Transcriber(model)

    def transcribe(audio: np.ndarray) -> np.ndarray:
        return M.as_note_array(tr.transcribe(audio, SAMPLE_RATE).notes)

    return transcribe


def trios_masking_curve(root: Path, piece: str, part: str, masker: str, *, model: Path | None = None,
                        gains_db: Sequence[float] = DEFAULT_GAINS_DB) -> list[MaskingPoint]:
    """:func:`masking_curve` of TRIOS piece ``piece`` (a folder under ``root``) with the shipped model
    or ``model`` (an .onnx with its .json beside it), at the model's shipped thresholds."""
    folder = Path(root) / piece
    if not (folder / f"{part}.mid").is_file():
        raise MissingResourceError(f"no reference {part}.mid in {folder}")
    if part == masker:
        raise ParameterError("the masker must be another part than the one scored")
    return masking_curve(piece_tracks(folder), midi_notes(folder / f"{part}.mid"), masker, _transcriber(model),
                         gains_db=gains_db)


@dataclass(frozen=True)
class SwapRow:
    """The part's notes found (of ``total``) with recorded or rendered versions of the two parts.

    ``soundfont`` names the renders (``None``: the recorded-only row, where the rendered fields are
    ``None``). ``part_alone`` and ``with_masker`` use the recorded part; ``rendered_*`` the part
    rendered from its MIDI file; ``*_rendered_masker`` the masker rendered likewise.
    """

    soundfont: str | None
    total: int
    part_alone: int | None
    with_masker: int | None
    with_rendered_masker: int | None = None
    rendered_alone: int | None = None
    rendered_with_masker: int | None = None
    rendered_with_rendered_masker: int | None = None


def active_level(audio: np.ndarray, *, block: int = 2048) -> float:
    """Median RMS of the 2048-sample blocks louder than ACTIVE_FRACTION of the loudest (0 if silent)."""
    x = np.asarray(audio, np.float64)
    rms = np.sqrt((x[: len(x) // block * block].reshape(-1, block) ** 2).mean(axis=1))
    if not len(rms) or rms.max() <= 0:
        return 0.0
    return float(np.median(rms[rms > rms.max() * ACTIVE_FRACTION]))


def render_like(midi_path: Path, program: int, soundfont: str, recorded: np.ndarray) -> np.ndarray:
    """The notes of ``midi_path`` rendered with ``program`` of ``soundfont``, as long as ``recorded``
    and scaled to its :func:`active_level` (float32 at SAMPLE_RATE)."""
    from septimbre.data.render import render_stem
    from septimbre.data.soundfonts import find_soundfont
    from septimbre.data.trios import read_notes

    y = render_stem(list(read_notes(midi_path)), soundfont=find_soundfont(soundfont), program=int(program), n_samples=len(recorded))
    level = active_level(y)
    if level <= 0:
        raise ParameterError(f"{soundfont} program {program} rendered silence for {midi_path.name}")
    return (y * (active_level(recorded) / level)).astype(np.float32)


def swap_table(part_track: np.ndarray, masker_track: np.ndarray, reference: np.ndarray, transcribe, render, *,
               soundfonts: Sequence[str] = SWAP_SOUNDFONTS) -> list[SwapRow]:
    """The part's notes found with recorded and rendered versions of the part and the masker.

    ``part_track`` / ``masker_track``: the recordings (equal lengths); ``render(which, soundfont)``
    returns the rendered version of ``"part"`` or ``"masker"``; ``transcribe`` as in
    :func:`masking_curve`. The first row is recorded only; then one row per soundfont.
    """

    def found(audio: np.ndarray) -> int:
        return int(M.matched_reference(reference, transcribe(np.asarray(audio, np.float32))).sum())

    total = len(reference)
    rows = [SwapRow(None, total, found(part_track), found(part_track + masker_track))]
    for sf in soundfonts:
        rp, rm = render("part", sf), render("masker", sf)
        rows.append(SwapRow(sf, total, None, None, found(part_track + rm), found(rp), found(rp + masker_track),
                            found(rp + rm)))
    return rows


def trios_swap_table(root: Path, piece: str, part: str, masker: str, programs: tuple[int, int], *,
                     model: Path | None = None, soundfonts: Sequence[str] = SWAP_SOUNDFONTS) -> list[SwapRow]:
    """:func:`swap_table` of a TRIOS piece: ``programs`` are the GM programs of the part and the masker."""
    folder = Path(root) / piece
    for name in (part, masker):
        if not (folder / f"{name}.mid").is_file():
            raise MissingResourceError(f"no reference {name}.mid in {folder}")
    if part == masker:
        raise ParameterError("the masker must be another part than the one scored")
    tracks = piece_tracks(folder)
    for name in (part, masker):
        if name not in tracks:
            raise MissingResourceError(f"no recording {name}.flac in {folder}")
    transcribe = _transcriber(model)
    names = {"part": part, "masker": masker}
    program = {"part": programs[0], "masker": programs[1]}

    def render(which: str, soundfont: str) -> np.ndarray:
        return render_like(folder / f"{names[which]}.mid", program[which], soundfont, tracks[names[which]])

    return swap_table(tracks[part], tracks[masker], midi_notes(folder / f"{part}.mid"), transcribe, render,
                      soundfonts=soundfonts)


def format_swap(rows: Sequence[SwapRow], *, part: str, masker: str) -> str:
    """The swap table: per soundfont, the part's notes found with each pairing of recorded and rendered."""
    head = rows[0]
    lines = [f"{part} notes found of {head.total}, {part} and {masker} only (renders scaled to the recording's "
             f"median active level)",
             f"  recorded {part} alone {head.part_alone}, with recorded {masker} {head.with_masker}"]
    table = [["soundfont", f"rec. {part} + rend. {masker}", f"rend. {part} alone", f"rend. {part} + rec. {masker}",
              f"rend. {part} + rend. {masker}"]]
    for r in rows[1:]:
        table.append([str(r.soundfont), str(r.with_rendered_masker), str(r.rendered_alone), str(r.rendered_with_masker),
                      str(r.rendered_with_rendered_masker)])
    return "\n".join(lines) + "\n" + align_columns(table)


def format_masking(points: Sequence[MaskingPoint], *, part: str, masker: str) -> str:
    """One line per masker gain: the gain and the part's notes found."""
    lines = [f"{part} notes found with {masker} at each gain (the other parts as recorded)"]
    for p in points:
        gain = "left out" if p.gain_db is None else f"{p.gain_db:+.0f} dB"
        lines.append(f"  {masker} {gain:>9s}: {p.found:4d} of {p.total} ({p.found / max(p.total, 1):.2f})")
    return "\n".join(lines)
