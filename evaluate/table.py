"""Plain-text tables for the evaluation commands: cells aligned in columns, a rule under the header."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["align_columns"]


def align_columns(rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Rows of cells, the first being the header, as aligned text lines with a dashed rule under the header.

    Parameters
    ----------
    rows : sequence of sequences of str
        Header first. A row shorter than the header is a note row (e.g. a system that failed): all
        its cells but the last are aligned with the columns above them, and its last cell (the
        note) follows unpadded and does not widen any column.
    left : int
        The first ``left`` columns are left-aligned, the others right-aligned (numbers).

    Returns
    -------
    str
        The lines joined by newlines, trailing spaces stripped.
    """
    if not rows:
        return ""
    n = len(rows[0])
    widths = [0] * n
    for r in rows:
        aligned = r if len(r) == n else r[:-1]
        for i, c in enumerate(aligned):
            widths[i] = max(widths[i], len(c))
    lines = []
    for r in rows:
        aligned = r if len(r) == n else r[:-1]
        cells = [c.ljust(widths[i]) if i < left else c.rjust(widths[i]) for i, c in enumerate(aligned)]
        if len(r) != n:
            cells.append(r[-1])
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
