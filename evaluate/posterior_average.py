"""How much would averaging several models' posteriors give? A diagnostic bound, never a shipped system.

``python -m septimbre.evaluate posterior-average A.onnx B.onnx [...] [--sets trios,trios-nopiano]``
runs every model on each piece, averages their onset and frame posteriorgrams element-wise and
decodes the average with the *first* model's shipped thresholds (its ``.json``). Each model alone
is decoded with those same thresholds, so the rows differ only in the posteriors. It prints note
F1 per piece and the mean per set for each model and for the average.

Why: two trainings of one recipe (two seeds) differ in their errors; the average of their
posteriors is what an ensemble would give, and so a bound on what variance reduction could add
(more seeds, a longer weight average, distilling an ensemble into one model) without new data or
a new recipe. An ensemble of N models costs N times the parameters and the run time, beyond the
issue's budget, so it is measured here and not built into the runtime. Thresholds are never
chosen here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from septimbre.evaluate import metrics as M
from septimbre.evaluate.references import Piece
from septimbre.utils.errors import ParameterError

#: Label of the averaged posteriors' row in :func:`format_average`.
AVERAGE = "average"


@dataclass(frozen=True)
class AverageRow:
    """One piece: note F1 of each model alone and of the averaged posteriors (same thresholds)."""

    set_name: str
    piece: str
    single_f1: tuple[float, ...]
    average_f1: float


def average_posteriors(posteriors: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise mean of several models' ``(onset, frame)`` posteriorgrams.

    Parameters
    ----------
    posteriors : sequence of (onset, frame), each ndarray [shape=(n_pitches, n_frames)]
        One pair per model, all of one piece at the same frame rate.

    Returns
    -------
    (onset, frame) : ndarray [shape=(n_pitches, n_frames)], float32

    Raises
    ------
    ParameterError
        No pair given, or the shapes differ.
    """
    if not posteriors:
        raise ParameterError("average_posteriors needs at least one (onset, frame) pair")
    shape = posteriors[0][0].shape
    if any(o.shape != shape or f.shape != shape for o, f in posteriors):
        raise ParameterError(f"posteriorgrams differ in shape: {[(o.shape, f.shape) for o, f in posteriors]}")
    onset = np.mean([o for o, _ in posteriors], axis=0, dtype=np.float32)
    frame = np.mean([f for _, f in posteriors], axis=0, dtype=np.float32)
    return onset, frame


def posterior_average(pieces: Iterable[Piece], models: Sequence[str | Path]) -> list[AverageRow]:
    """Score each model alone and the average of their posteriors on ``pieces`` (module docstring).

    Parameters
    ----------
    pieces : iterable of Piece
        Audio and reference notes (any sets of :mod:`septimbre.evaluate.references`); read lazily,
        after the models are loaded.
    models : sequence of str or Path
        Two or more exported ``.onnx`` files; the first one's ``.json`` gives the thresholds.

    Returns
    -------
    list of AverageRow
        One row per piece, in the order given.
    """
    from septimbre.inference import Transcriber
    from septimbre.utils.decoding import decode_notes

    if len(models) < 2:
        raise ParameterError(f"posterior-average needs two or more models; got {len(models)}")
    transcribers = [Transcriber(m) for m in models]
    settings = transcribers[0].decoder_settings().kwargs()
    rows = []
    for piece in pieces:
        posts = [t.posteriors(str(piece.audio_path)) for t in transcribers]

        def f1(onset: np.ndarray, frame: np.ndarray) -> float:
            return M.note_prf(piece.reference, decode_notes(onset, frame, **settings))[2]

        rows.append(AverageRow(piece.set_name, piece.name, tuple(f1(o, f) for o, f in posts),
                               f1(*average_posteriors(posts))))
    return rows


def format_average(rows: Sequence[AverageRow], models: Sequence[str | Path]) -> str:
    """A plain-text table of :func:`posterior_average` rows: note F1 per piece, then each set's mean.

    Models are labelled ``model 1``, ``model 2``, ... in the order given, with a legend above.
    """
    labels = [f"model {i + 1}" for i in range(len(models))] + [AVERAGE]
    legend = [f"model {i + 1}: {m}" for i, m in enumerate(models)]
    piece_w = max([5, *(len(r.piece) for r in rows)])
    set_w = max([3, *(len(r.set_name) for r in rows)])
    head = f"{'set':<{set_w}} {'piece':<{piece_w}} " + " ".join(f"{n:>9}" for n in labels)
    lines = [*legend, head, "-" * len(head)]
    for set_name in dict.fromkeys(r.set_name for r in rows):
        chosen = [r for r in rows if r.set_name == set_name]
        for r in chosen:
            lines.append(f"{set_name:<{set_w}} {r.piece:<{piece_w}} "
                         + " ".join(f"{v:>9.3f}" for v in [*r.single_f1, r.average_f1]))
        means = np.mean([[*r.single_f1, r.average_f1] for r in chosen], axis=0)
        lines.append(f"{set_name:<{set_w}} {'mean':<{piece_w}} " + " ".join(f"{v:>9.3f}" for v in means))
    return "\n".join(lines)
