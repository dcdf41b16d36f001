"""How far could thresholds alone go? A diagnostic bound, never a way to choose them.

``python -m septimbre.evaluate threshold-bound [--sets trios] [--model X.onnx]`` runs the model once
per piece and decodes its posteriorgrams at every point of a grid of onset and frame thresholds
(the minimum note length and the decoder switches stay the model's shipped ones). Per set it
prints note F1 (mean over pieces) at

- the shipped thresholds (the model's ``.json``, chosen on synthetic validation);
- the best single grid point for the whole set, *chosen on that set itself*;
- the best grid point of each piece on its own (the *per-piece oracle*), and their mean.

The last two read the test references, so they are upper bounds on what any choice of thresholds
could give, a global one or one that adapts to each recording: if the per-piece oracle of the
TRIOS mixes is below a target, no decoder threshold reaches it, and the posteriors themselves
must change. Thresholds are never chosen here (docs/basicamt.md, "Thresholds").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from septimbre.evaluate import metrics as M
from septimbre.evaluate.references import Piece
from septimbre.utils.errors import ParameterError

#: Default onset-threshold grid (probabilities); the shipped value is added when missing.
DEFAULT_ONSET_GRID: tuple[float, ...] = (0.03, 0.04, 0.05, 0.06, 0.075, 0.09, 0.1, 0.125, 0.15, 0.2, 0.3)
#: Default frame-threshold grid (probabilities); the shipped value is added when missing.
DEFAULT_FRAME_GRID: tuple[float, ...] = (0.2, 0.25, 0.3, 0.325, 0.35, 0.4, 0.45, 0.5)


@dataclass(frozen=True)
class PieceGrid:
    """One piece: note F1 at every grid point and at the shipped thresholds.

    Attributes
    ----------
    f1 : ndarray [shape=(n_onset, n_frame)]
        Note F1 (onset +-50 ms, offsets ignored) with ``onset_grid[i]`` and ``frame_grid[j]``.
    """

    set_name: str
    piece: str
    f1: np.ndarray
    shipped_f1: float


@dataclass(frozen=True)
class BoundRow:
    """One set's summary: mean note F1 at the shipped thresholds, at the set's best grid point and
    with each piece at its own best grid point."""

    set_name: str
    n_pieces: int
    shipped: float
    shipped_thresholds: tuple[float, float]
    best_global: float
    best_global_thresholds: tuple[float, float]
    per_piece_oracle: float


def with_value(grid: Sequence[float], value: float) -> tuple[float, ...]:
    """``grid`` sorted, with ``value`` added unless it is already there (so the shipped point is a
    grid point and the bound is never below the shipped score)."""
    values = sorted({float(v) for v in grid} | {float(value)})
    if values[0] <= 0.0 or values[-1] >= 1.0:  # never empty: value is in it
        raise ParameterError(f"thresholds must lie in (0, 1), got {values}")
    return tuple(values)


def grid_f1(reference: Any, onset: np.ndarray, frame: np.ndarray, settings: Mapping[str, Any], *,
            onset_grid: Sequence[float], frame_grid: Sequence[float]) -> np.ndarray:
    """Note F1 of one piece's posteriorgrams decoded at every (onset, frame) threshold pair.

    Parameters
    ----------
    reference : (n, 3) array-like of (start_s, end_s, MIDI pitch)
    onset, frame : ndarray [shape=(84, n_frames)]
        Posteriorgrams as :meth:`septimbre.Transcriber.posteriors` gives them.
    settings : mapping
        Keyword arguments of :func:`septimbre.utils.decoding.decode_notes` (the model's shipped
        ones); the two thresholds in it are replaced by each grid point.

    Returns
    -------
    ndarray [shape=(len(onset_grid), len(frame_grid))], float64
    """
    from septimbre.utils.decoding import decode_notes

    out = np.zeros((len(onset_grid), len(frame_grid)))
    for i, on in enumerate(onset_grid):
        for j, fr in enumerate(frame_grid):
            est = decode_notes(onset, frame, **{**settings, "onset_threshold": on, "frame_threshold": fr})
            out[i, j] = M.note_prf(reference, est)[2]
    return out


def threshold_grids(pieces: Iterable[Piece], model: str | Path | None = None, *,
                    onset_grid: Sequence[float] = DEFAULT_ONSET_GRID,
                    frame_grid: Sequence[float] = DEFAULT_FRAME_GRID) -> tuple[list[PieceGrid], tuple, tuple, dict]:
    """Run the shipped model (or ``model``) on each piece and score it over the threshold grid.

    Returns
    -------
    (grids, onset_grid, frame_grid, settings)
        One :class:`PieceGrid` per piece; the grids as used (the shipped values added); the model's
        shipped decoder settings.
    """
    from septimbre.evaluate.stages import piece_posteriors

    grids: list[PieceGrid] = []
    on_grid = fr_grid = settings = None
    for piece, onset, frame, shipped in piece_posteriors(pieces, model):
        if settings is None:
            settings = shipped
            on_grid = with_value(onset_grid, shipped["onset_threshold"])
            fr_grid = with_value(frame_grid, shipped["frame_threshold"])
        f1 = grid_f1(piece.reference, onset, frame, shipped, onset_grid=on_grid, frame_grid=fr_grid)
        at_shipped = f1[on_grid.index(float(shipped["onset_threshold"])),
                        fr_grid.index(float(shipped["frame_threshold"]))]
        grids.append(PieceGrid(piece.set_name, piece.name, f1, float(at_shipped)))
    if settings is None:
        raise ParameterError("threshold-bound: no piece to score")
    return grids, on_grid, fr_grid, settings


def summarise(grids: Sequence[PieceGrid], onset_grid: Sequence[float], frame_grid: Sequence[float],
              settings: Mapping[str, Any]) -> list[BoundRow]:
    """One :class:`BoundRow` per set, in the order the sets first appear in ``grids``."""
    rows = []
    for set_name in dict.fromkeys(g.set_name for g in grids):
        mine = [g for g in grids if g.set_name == set_name]
        stack = np.stack([g.f1 for g in mine])  # (pieces, n_onset, n_frame)
        mean = stack.mean(axis=0)
        i, j = np.unravel_index(int(np.argmax(mean)), mean.shape)
        rows.append(BoundRow(
            set_name, len(mine), float(np.mean([g.shipped_f1 for g in mine])),
            (float(settings["onset_threshold"]), float(settings["frame_threshold"])),
            float(mean[i, j]), (float(onset_grid[i]), float(frame_grid[j])),
            float(stack.reshape(len(mine), -1).max(axis=1).mean()),
        ))
    return rows


def format_bound(rows: Sequence[BoundRow], grids: Sequence[PieceGrid], onset_grid: Sequence[float],
                 frame_grid: Sequence[float]) -> str:
    """Plain-text table: each set's summary, then each piece's shipped and best F1 (TRIOS sets)."""
    head = (f"{'set':<14} {'pieces':>6}  {'shipped':>7} {'(onset, frame)':>15}  {'best for the set':>16} "
            f"{'(onset, frame)':>15}  {'per-piece oracle':>16}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.set_name:<14} {r.n_pieces:>6}  {r.shipped:>7.3f} {_pair(r.shipped_thresholds):>15}  "
                     f"{r.best_global:>16.3f} {_pair(r.best_global_thresholds):>15}  {r.per_piece_oracle:>16.3f}")
    pieces = [g for g in grids if g.set_name.startswith("trios")]
    if pieces:
        lines += ["", f"{'set':<14} {'piece':<22} {'shipped':>7}  {'best':>6} {'(onset, frame)':>15}"]
        for g in pieces:
            i, j = np.unravel_index(int(np.argmax(g.f1)), g.f1.shape)
            lines.append(f"{g.set_name:<14} {g.piece:<22} {g.shipped_f1:>7.3f}  {g.f1[i, j]:>6.3f} "
                         f"{_pair((onset_grid[i], frame_grid[j])):>15}")
    return "\n".join(lines)


def _pair(pair: tuple[float, float]) -> str:
    return f"({pair[0]:g}, {pair[1]:g})"
