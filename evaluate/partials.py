"""Partial balance of real instrument recordings against soundfont renders of the same notes.

For every note of a TRIOS part recording, the level of partials 2..N relative to the fundamental
(dB, peak of a Hann-windowed spectrum of the note's first 0.4 s, skipping its first 50 ms) is
compared with the same notes rendered by FluidSynth with the part's closest GM program in each
soundfont. It shows how far the synthetic training timbres sit from real instruments (brighter,
darker, weaker fundamental): a diagnostic for the data engine's augmentation ranges, not a metric
of any model.

    python -m septimbre.evaluate partials [--trios DIR] [--soundfonts TimGM6mb,sf_GMbank,...]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from septimbre.utils.constants import SAMPLE_RATE
from septimbre.utils.errors import ParameterError

#: Analysis window: from this long after a note's onset (seconds) ...
SKIP_ATTACK_S = 0.05
#: ... for at most this long (seconds); notes with under MIN_WINDOW_S of sound are skipped.
MAX_WINDOW_S = 0.4
MIN_WINDOW_S = 0.09
#: FFT length (samples at SAMPLE_RATE; 0.34 Hz bins).
N_FFT = 1 << 16
#: A partial's level is the spectrum's peak within this relative distance of k x f0.
PARTIAL_TOLERANCE = 0.03


def partial_levels(audio: np.ndarray, notes: Sequence, *, n_partials: int = 5, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Level of partials 2..``n_partials`` relative to the fundamental, per note.

    Parameters
    ----------
    audio : ndarray, shape (samples,)
        Mono signal at ``sr`` Hz holding the notes (one instrument).
    notes : sequence of objects with ``start_s``, ``end_s`` (seconds) and ``pitch`` (MIDI)
    n_partials : int
        Highest partial measured (>= 2).

    Returns
    -------
    ndarray, shape (n_measured, n_partials - 1), float64
        dB of partial k over partial 1 (column k - 2); one row per note with at least
        MIN_WINDOW_S of sound after SKIP_ATTACK_S and all partials below Nyquist.
    """
    if n_partials < 2:
        raise ParameterError("n_partials must be >= 2")
    audio = np.asarray(audio, np.float64)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sr)
    rows = []
    for n in notes:
        a = int(round((n.start_s + SKIP_ATTACK_S) * sr))
        b = min(int(round(min(n.end_s, n.start_s + SKIP_ATTACK_S + MAX_WINDOW_S) * sr)), len(audio))
        f0 = 440.0 * 2.0 ** ((n.pitch - 69) / 12.0)
        if b - a < MIN_WINDOW_S * sr or n_partials * f0 * (1 + PARTIAL_TOLERANCE) >= sr / 2:
            continue
        spec = np.abs(np.fft.rfft(audio[a:b] * np.hanning(b - a), N_FFT))
        peaks = np.array([
            spec[(freqs > k * f0 * (1 - PARTIAL_TOLERANCE)) & (freqs < k * f0 * (1 + PARTIAL_TOLERANCE))].max()
            for k in range(1, n_partials + 1)
        ])
        rows.append(20.0 * np.log10((peaks[1:] + 1e-12) / (peaks[0] + 1e-12)))
    return np.array(rows, np.float64).reshape(-1, n_partials - 1)


@dataclass(frozen=True)
class PartialRow:
    """Median partial levels of one TRIOS part, recorded and rendered."""

    piece: str
    instrument: str
    program: int
    n_notes: int
    recorded: np.ndarray
    #: soundfont key -> median levels of the rendered notes (same notes, same measurement)
    rendered: dict


def partial_balance(pieces, soundfonts: Sequence[str], *, n_partials: int = 5) -> list[PartialRow]:
    """:func:`partial_levels` medians of every pitched part of ``pieces`` (``data.trios.TriosPiece``)."""
    from septimbre.data.notes import ScoreNote
    from septimbre.data.render import render_stem
    from septimbre.data.soundfonts import find_soundfont

    paths = {key: find_soundfont(key) for key in soundfonts}
    out = []
    for piece in pieces:
        for k, (name, program) in enumerate(zip(piece.instruments, piece.programs)):
            notes = piece.notes[k]
            recorded = partial_levels(piece.stems[k], notes, n_partials=n_partials)
            if program < 0 or not len(recorded):
                continue
            flat = [ScoreNote(n.start_s, n.end_s, n.pitch, 90) for n in notes]
            n_samples = int((max(n.end_s for n in notes) + 0.5) * SAMPLE_RATE)
            rendered = {
                key: np.median(partial_levels(render_stem(flat, soundfont=path, program=int(program),
                                                          n_samples=n_samples), notes, n_partials=n_partials), 0)
                for key, path in paths.items()
            }
            out.append(PartialRow(piece.name, name, int(program), len(recorded), np.median(recorded, 0), rendered))
    return out


def format_partials(rows: Sequence[PartialRow]) -> str:
    """One line per part and source: median dB of partials 2..N over the fundamental."""
    lines = []
    for r in rows:
        head = f"{r.piece}/{r.instrument} (GM {r.program}, {r.n_notes} notes)"
        lines.append(f"{head:38s} {'recorded':18s} " + " ".join(f"{x:+6.1f}" for x in r.recorded))
        for key, levels in r.rendered.items():
            lines.append(f"{'':38s} {key:18s} " + " ".join(f"{x:+6.1f}" for x in levels))
    return "\n".join(lines)
