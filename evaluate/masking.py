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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from septimbre.evaluate import metrics as M
from septimbre.evaluate.references import midi_notes
from septimbre.utils.constants import SAMPLE_RATE
from septimbre.utils.errors import MissingResourceError, ParameterError

#: Masker gains of the default curve, dB relative to the recording.
DEFAULT_GAINS_DB: tuple[float, ...] = (0.0, -6.0, -12.0, -18.0, -24.0, -36.0)


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


def trios_masking_curve(root: Path, piece: str, part: str, masker: str, *, model: Path | None = None,
                        gains_db: Sequence[float] = DEFAULT_GAINS_DB) -> list[MaskingPoint]:
    """:func:`masking_curve` of TRIOS piece ``piece`` (a folder under ``root``) with the shipped model
    or ``model`` (an .onnx with its .json beside it), at the model's shipped thresholds."""
    from septimbre.inference import Transcriber

    folder = Path(root) / piece
    if not (folder / f"{part}.mid").is_file():
        raise MissingResourceError(f"no reference {part}.mid in {folder}")
    if part == masker:
        raise ParameterError("the masker must be another part than the one scored")
    tr = Transcriber(model)

    def transcribe(audio: np.ndarray) -> np.ndarray:
        notes = tr.transcribe(audio, SAMPLE_RATE).notes
        return np.array([[n.start_s, n.end_s, n.pitch] for n in notes], np.float64).reshape(-1, 3)

    return masking_curve(piece_tracks(folder), midi_notes(folder / f"{part}.mid"), masker, transcribe,
                         gains_db=gains_db)


def format_masking(points: Sequence[MaskingPoint], *, part: str, masker: str) -> str:
    """One line per masker gain: the gain and the part's notes found."""
    lines = [f"{part} notes found with {masker} at each gain (the other parts as recorded)"]
    for p in points:
        gain = "left out" if p.gain_db is None else f"{p.gain_db:+.0f} dB"
        lines.append(f"  {masker} {gain:>9s}: {p.found:4d} of {p.total} ({p.found / max(p.total, 1):.2f})")
    return "\n".join(lines)
