"""Compare two results files of ``python -m septimbre.evaluate transcription --out``: paired bootstrap and ship rule.

A candidate model and a base (usually the shipped model) are scored on the same pieces by the
transcription command. :func:`paired_bootstrap` resamples the per-piece differences of one metric
to say whether a difference in means is more than the spread between pieces;
:func:`ship_rule` applies the rule in docs/basicamt.md ("The ship rule from session 17 on") to the
two files' note F1 means.

Usage::

    python -m septimbre.evaluate compare runs/shipped/eval.json runs/NAME/eval.json [--ship-rule]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from septimbre.evaluate.table import align_columns
from septimbre.utils.errors import ParameterError

__all__ = ["PairedDiff", "PartRecall", "RuleCheck", "format_comparison", "format_part_recall", "format_ship_rule",
           "load_results", "paired_bootstrap", "part_recall", "ship_rule"]

#: The sets the ship rule reads: the two synthetic sets, the TRIOS mixes and TRIOS without the piano.
RULE_SETS = ("synthetic-val", "unseen", "trios", "trios-nopiano")

#: How far the candidate's TRIOS-mixes mean may fall below the base's under the ship rule (note F1).
RULE_TRIOS_SLACK = 0.005


@dataclass(frozen=True)
class PairedDiff:
    """One set's candidate-minus-base difference of a per-piece metric.

    ``n`` pieces scored by both; ``base`` / ``cand`` the means over those pieces; ``diff`` their
    difference; ``low`` / ``high`` the percentile interval of the bootstrap means of the paired
    differences.
    """

    set_name: str
    n: int
    base: float
    cand: float
    diff: float
    low: float
    high: float


@dataclass(frozen=True)
class RuleCheck:
    """One condition of the ship rule: what it asks, the figures it compared, whether it holds."""

    condition: str
    detail: str
    holds: bool


@dataclass(frozen=True)
class PartRecall:
    """One instrument part's reference notes found by the base and by the candidate in one set.

    ``total`` reference notes of ``part`` in ``piece``; ``base`` / ``cand`` how many each matched
    (onset within 50 ms, pitch equal; the transcription command's ``recall_by_part``).
    """

    set_name: str
    piece: str
    part: str
    total: int
    base: int
    cand: int


def load_results(path: str | Path) -> dict:
    """Read a results file written by ``python -m septimbre.evaluate transcription --out``.

    Raises :class:`ParameterError` when the file is missing or is not such a file.
    """
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"results file not found: {p}")
    try:
        doc = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ParameterError(f"{p} is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not all(isinstance(v, dict) and "systems" in v for v in doc.values()):
        raise ParameterError(f"{p} is not a results file of the transcription command (no per-set 'systems')")
    return doc


def _system_rows(results: Mapping, set_name: str, system: str) -> Mapping:
    """One set's rows of one system (``per_piece``, ``mean``, ...); :class:`ParameterError` if it was not scored."""
    systems = results[set_name]["systems"]
    if system not in systems:
        raise ParameterError(f"set {set_name!r} has no system {system!r} (has: {', '.join(systems) or 'none'})")
    return systems[system]


def _per_piece(results: Mapping, set_name: str, system: str, metric: str) -> dict[str, float]:
    pieces = _system_rows(results, set_name, system)["per_piece"]
    return {name: float(row[metric]) for name, row in pieces.items() if metric in row}


def paired_bootstrap(base: Mapping, cand: Mapping, *, system: str = "septimbre", metric: str = "note_f1",
                     resamples: int = 5000, seed: int = 0, level: float = 0.95) -> list[PairedDiff]:
    """Per set, the mean paired difference (candidate minus base) of a per-piece metric and its interval.

    Parameters
    ----------
    base, cand : mapping
        Results documents (:func:`load_results`). Only sets and pieces present in both count.
    system : str
        The system whose rows are compared (``"septimbre"`` for our model).
    metric : str
        A per-piece field, e.g. ``"note_f1"``, ``"note_precision"``, ``"frame_f1"``.
    resamples : int
        Bootstrap resamples of the pieces (with replacement).
    seed : int
        Seed of the resampling, so the interval is reproducible.
    level : float
        Central probability of the percentile interval (0.95: the 2.5th to 97.5th percentiles).

    Returns
    -------
    list of PairedDiff
        One per shared set with at least one shared piece, in the candidate file's order.
    """
    if resamples < 1:
        raise ParameterError(f"resamples must be >= 1, got {resamples}")
    if not 0.0 < level < 1.0:
        raise ParameterError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    tail = 100.0 * (1.0 - level) / 2.0
    out = []
    for set_name in cand:
        if set_name not in base:
            continue
        a = _per_piece(base, set_name, system, metric)
        b = _per_piece(cand, set_name, system, metric)
        names = sorted(set(a) & set(b))
        if not names:
            continue
        d = np.array([b[k] - a[k] for k in names])
        means = d[rng.integers(0, len(d), (resamples, len(d)))].mean(axis=1)
        low, high = np.percentile(means, [tail, 100.0 - tail])
        out.append(PairedDiff(set_name, len(names), float(np.mean([a[k] for k in names])),
                              float(np.mean([b[k] for k in names])), float(d.mean()), float(low), float(high)))
    return out


def _mean_f1(results: Mapping, set_name: str, system: str) -> float:
    if set_name not in results:
        raise ParameterError(f"the ship rule needs set {set_name!r}; score it with --sets {','.join(RULE_SETS)}")
    return float(_system_rows(results, set_name, system)["mean"]["note_f1"])


def _thousandths(x: float) -> int:
    """A note F1 at three decimals, as an integer count of thousandths (no float ties)."""
    return int(round(x * 1000.0))


def ship_rule(base: Mapping, cand: Mapping, *, system: str = "septimbre") -> list[RuleCheck]:
    """The three conditions under which a candidate replaces the shipped model (docs/basicamt.md).

    On note F1 means: (1) no worse than the base on either synthetic set at three decimals;
    (2) the average of the TRIOS-mixes and TRIOS-without-piano means higher than the base's;
    (3) the TRIOS-mixes mean at most :data:`RULE_TRIOS_SLACK` below the base's at three decimals.
    The candidate ships only if all three hold. Raises :class:`ParameterError` when a set is missing.
    """
    b = {s: _mean_f1(base, s, system) for s in RULE_SETS}
    c = {s: _mean_f1(cand, s, system) for s in RULE_SETS}
    synth_ok = all(_thousandths(c[s]) >= _thousandths(b[s]) for s in ("synthetic-val", "unseen"))
    pair_b = (b["trios"] + b["trios-nopiano"]) / 2.0
    pair_c = (c["trios"] + c["trios-nopiano"]) / 2.0
    slack = _thousandths(RULE_TRIOS_SLACK)
    return [
        RuleCheck("1. synthetic sets no worse",
                  f"val {c['synthetic-val']:.3f} vs {b['synthetic-val']:.3f}, unseen {c['unseen']:.3f} vs {b['unseen']:.3f}",
                  synth_ok),
        RuleCheck("2. mean of TRIOS and without piano higher", f"{pair_c:.4f} vs {pair_b:.4f}", pair_c > pair_b),
        RuleCheck(f"3. TRIOS at most {RULE_TRIOS_SLACK:.3f} below",
                  f"{c['trios']:.3f} vs {b['trios']:.3f}",
                  _thousandths(c["trios"]) >= _thousandths(b["trios"]) - slack),
    ]


def part_recall(base: Mapping, cand: Mapping, *, system: str = "septimbre") -> list[PartRecall]:
    """Per set, piece and part, the reference notes each file's system found (sets in both files
    whose rows carry ``recall_by_part``: the TRIOS sets; parts with different totals are skipped,
    since they were not scored on the same references)."""
    out = []
    for set_name in base:
        if set_name not in cand:
            continue
        rb = _system_rows(base, set_name, system).get("recall_by_part") or {}
        rc = _system_rows(cand, set_name, system).get("recall_by_part") or {}
        for piece in rb:
            for part, b in rb[piece].items():
                c = rc.get(piece, {}).get(part)
                if c is None or int(c["total"]) != int(b["total"]):
                    continue
                out.append(PartRecall(set_name, piece, part, int(b["total"]), int(b["matched"]), int(c["matched"])))
    return out


def format_part_recall(rows: list[PartRecall]) -> str:
    """Notes found per part as an aligned table: set, piece, part, base and candidate counts, difference."""
    table = [["set", "piece", "part", "notes", "base found", "cand found", "cand - base"]]
    for r in rows:
        table.append([r.set_name, r.piece, r.part, str(r.total), str(r.base), str(r.cand), f"{r.cand - r.base:+d}"])
    return align_columns(table)


def format_comparison(rows: list[PairedDiff], *, metric: str = "note_f1") -> str:
    """The paired differences as an aligned table: set, pieces, base, candidate, difference, interval."""
    table = [["set", "pieces", f"base {metric}", f"cand {metric}", "cand - base", "interval"]]
    for r in rows:
        table.append([r.set_name, str(r.n), f"{r.base:.4f}", f"{r.cand:.4f}", f"{r.diff:+.4f}",
                      f"[{r.low:+.4f}, {r.high:+.4f}]"])
    return align_columns(table)


def format_ship_rule(checks: list[RuleCheck]) -> str:
    """The ship rule's conditions, one line each, and the verdict."""
    lines = [f"{'holds' if c.holds else 'FAILS'}  {c.condition}: {c.detail}" for c in checks]
    lines.append("verdict: " + ("ships (all three hold)" if all(c.holds for c in checks) else "does not ship"))
    return "\n".join(lines)
