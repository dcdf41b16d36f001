"""Transcription evaluation: every system on every piece of the chosen sets, in one run.

Each system runs once per set as a subprocess (model loaded once; see
:mod:`septimbre.evaluate.systems`); its notes are scored against the references with
:mod:`septimbre.evaluate.metrics`. A system that cannot run (septimbre before its weights ship, a peer
not installed) is reported as failed with the reason: no numbers are made up for it.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from septimbre.evaluate import metrics as M
from septimbre.evaluate.references import Piece, set_pieces
from septimbre.evaluate.systems import OURS, SystemFailed, run_system
from septimbre.evaluate.table import align_columns
from septimbre.utils.errors import ParameterError

logger = logging.getLogger(__name__)

#: Columns of the printed table: (header, Scores attribute).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("note P", "note_precision"), ("note R", "note_recall"), ("note F1", "note_f1"),
    ("frame P", "frame_precision"), ("frame R", "frame_recall"), ("frame F1", "frame_f1"),
    ("ghost", "ghost_rate"), ("split", "split_rate"), ("mistimed", "mistimed_rate"), ("leak", "leak_rate"),
)


@dataclass
class SetResult:
    """Scores of each system on one set: per piece, pooled (counts added) and mean over pieces."""

    name: str
    pieces: list[str]
    per_piece: dict[str, dict[str, M.Scores]] = field(default_factory=dict)  # system -> piece -> Scores
    failures: dict[str, str] = field(default_factory=dict)  # system -> reason
    versions: dict[str, str] = field(default_factory=dict)
    # system -> piece -> instrument -> (matched, total) reference notes; pieces with part labels only
    part_recall: dict[str, dict[str, dict[str, tuple[int, int]]]] = field(default_factory=dict)
    # piece -> number of instruments in its mix; pieces where it is known only
    n_instruments: dict[str, int] = field(default_factory=dict)
    # piece -> reference notes doubling another (unisons: see metrics.count_doubled_notes)
    n_doubled: dict[str, int] = field(default_factory=dict)
    # system -> piece -> onset context -> (matched, total) reference notes (metrics.onset_context),
    # plus metrics.REATTACK for the notes that re-attack a sounding pitch (metrics.reattacked)
    context_recall: dict[str, dict[str, dict[str, tuple[int, int]]]] = field(default_factory=dict)

    def pooled(self, system: str) -> M.Scores:
        return M.pool(self.per_piece[system][p] for p in self.pieces)

    def mean(self, system: str) -> dict[str, float]:
        return M.mean_scores([self.per_piece[system][p] for p in self.pieces])

    def to_dict(self) -> dict:
        out: dict = {"pieces": self.pieces, "failures": self.failures, "versions": self.versions, "systems": {}}
        if self.n_instruments:
            out["n_instruments"] = dict(self.n_instruments)
        if self.n_doubled:
            out["n_doubled"] = dict(self.n_doubled)
        for system, scores in self.per_piece.items():
            out["systems"][system] = {
                "per_piece": {p: s.to_dict() for p, s in scores.items()},
                "pooled": self.pooled(system).to_dict(),
                "mean": self.mean(system),
            }
            for key, table in (("recall_by_part", self.part_recall), ("recall_by_onset_context", self.context_recall)):
                if table.get(system):
                    out["systems"][system][key] = {
                        piece: {label: {"matched": m, "total": t} for label, (m, t) in groups.items()}
                        for piece, groups in table[system].items()
                    }
        return out


def evaluate_set(
    name: str, pieces: Sequence[Piece], systems: Sequence[str], *, ours_separate: bool = False,
    ours_model: str | Path | None = None,
) -> SetResult:
    """Run every system on the pieces' audio and score it.

    septimbre runs with ``separate=ours_separate`` and the shipped model unless ``ours_model`` names
    another ``.onnx`` file (thresholds from the ``.json`` beside it).
    """
    if not pieces:
        raise ParameterError(f"set {name!r} has no piece")
    result = SetResult(name=name, pieces=[p.name for p in pieces],
                       n_instruments={p.name: p.n_instruments for p in pieces if p.n_instruments is not None},
                       n_doubled={p.name: M.count_doubled_notes(p.reference) for p in pieces})
    paths = [str(p.audio_path) for p in pieces]
    contexts = [M.onset_context(p.reference) for p in pieces]  # the same for every system
    reattacks = [M.reattacked(p.reference) for p in pieces]
    for system in systems:
        extra: list[str] = []
        if system == OURS:
            extra += [] if ours_separate else ["--no-separate"]
            extra += [] if ours_model is None else ["--model", str(ours_model)]
        try:
            run = run_system(system, paths, extra_args=extra)
        except SystemFailed as exc:
            logger.error("%s", exc)
            result.failures[system] = str(exc)
            continue
        result.versions[system] = run.version
        result.per_piece[system] = {
            piece.name: M.evaluate_notes(piece.reference, list(file.notes))
            for piece, file in zip(pieces, run.files)
        }
        hits = [M.matched_reference(piece.reference, list(file.notes)) for piece, file in zip(pieces, run.files)]
        result.part_recall[system] = {
            piece.name: M.count_by_label(hit, piece.parts)
            for piece, hit in zip(pieces, hits) if piece.parts is not None
        }
        result.context_recall[system] = {
            piece.name: {**M.count_by_label(hit, context),
                         M.REATTACK: (int(hit[again].sum()), int(again.sum()))}
            for piece, hit, context, again in zip(pieces, hits, contexts, reattacks)
        }
    return result


def evaluate_sets(
    set_names: Sequence[str],
    systems: Sequence[str],
    *,
    trios_dir: Path | None = None,
    synthetic_dir: Path | None = None,
    unseen_dir: Path | None = None,
    limit: int | None = None,
    ours_model: str | Path | None = None,
) -> list[SetResult]:
    """Evaluate ``systems`` on each named set ("trios", "trios-stems", "trios-nopiano", "synthetic-val", "unseen")."""
    results = []
    with tempfile.TemporaryDirectory(prefix="septimbre-eval-sets-") as tmp:
        for name in set_names:
            pieces = set_pieces(name, Path(tmp), trios_dir=trios_dir, synthetic_dir=synthetic_dir,
                                unseen_dir=unseen_dir, limit=limit)
            logger.info("%s: %d pieces", name, len(pieces))
            results.append(evaluate_set(name, pieces, systems, ours_model=ours_model))
    return results


def format_part_recall(results: Sequence[SetResult]) -> str:
    """Note recall per instrument (sets whose references name their instruments, i.e. TRIOS).

    One row per (set, piece, instrument): the number of reference notes, then each system's recall
    against the merged transcription (the same matching as the main table's note recall). Empty
    when no set has instrument labels.
    """
    lines: list[str] = []
    for res in results:
        systems = [s for s in res.per_piece if res.part_recall.get(s)]
        if not systems:
            continue
        header = ["set", "piece", "instrument", "notes"] + [f"R {s}" for s in systems]
        rows = []
        first = res.part_recall[systems[0]]
        for piece in res.pieces:
            for part, (_, total) in first.get(piece, {}).items():
                cells = [res.name, piece, part, str(total)]
                for system in systems:
                    m, t = res.part_recall[system][piece][part]
                    cells.append(_fmt(m / t if t else 0.0))
                rows.append(cells)
        lines += [align_columns([header] + rows, left=3), ""]
    return "\n".join(lines).rstrip()


def format_polyphony(results: Sequence[SetResult]) -> str:
    """Pooled note precision / recall by the number of instruments in the mix.

    One row per (set, instrument count): the pieces and reference notes with that many instruments,
    the share of those notes that double another (a unison of two instruments counts twice in the
    references but a merged transcription has one note there, so recall cannot exceed 1 minus this
    share), then each system's pooled note precision and recall over them. Recall falling with
    polyphony shows notes lost to the other instruments. Empty when no set knows its counts.
    """
    lines: list[str] = []
    for res in results:
        systems = list(res.per_piece)  # systems that ran
        counts = sorted(set(res.n_instruments.values()))
        if not systems or not counts:
            continue
        header = ["set", "instruments", "pieces", "notes", "doubled"]
        for system in systems:
            header += [f"P {system}", f"R {system}"]
        rows = []
        for n in counts:
            names = [p for p in res.pieces if res.n_instruments.get(p) == n]
            pooled = [M.pool(res.per_piece[system][p] for p in names) for system in systems]
            n_ref = pooled[0].n_ref  # the same references for every system
            doubled = sum(res.n_doubled.get(p, 0) for p in names)
            cells = [res.name, str(n), str(len(names)), str(n_ref), _fmt(doubled / n_ref if n_ref else 0.0)]
            for scores in pooled:
                cells += [_fmt(scores.note_precision), _fmt(scores.note_recall)]
            rows.append(cells)
        lines += [align_columns([header] + rows, left=1), ""]
    return "\n".join(lines).rstrip()


def format_context_recall(results: Sequence[SetResult]) -> str:
    """Pooled note recall by what starts with each reference note (:func:`metrics.onset_context`).

    One row per (set, context): ``alone`` (no other note starts within 50 ms), ``chord`` (others
    do, none 12, 19, 24, 28, 31 or 36 semitones below), ``on-partial`` (one does: the note starts on
    a lower note's partials, where a merged transcription must tell a doubling from a harmonic
    ghost), then ``re-attack`` (a subset across the three: the note's pitch was still sounding, or
    stopped less than 60 ms before, :func:`metrics.reattacked`); the number of such reference notes
    over all pieces, then each system's recall of them. Empty when no system ran.
    """
    lines: list[str] = []
    for res in results:
        systems = [s for s in res.per_piece if res.context_recall.get(s)]
        if not systems:
            continue
        header = ["set", "onset context", "notes"] + [f"R {s}" for s in systems]
        rows = []
        for label in (*M.ONSET_CONTEXTS, M.REATTACK):
            counts = [[res.context_recall[s][p].get(label, (0, 0)) for p in res.pieces] for s in systems]
            total = sum(t for _, t in counts[0])
            if total == 0:
                continue
            rows.append([res.name, label, str(total)] + [_fmt(sum(m for m, _ in c) / total) for c in counts])
        lines += [align_columns([header] + rows, left=2), ""]
    return "\n".join(lines).rstrip()


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def format_table(
    results: Sequence[SetResult], *, per_piece_sets: Sequence[str] = ("trios", "trios-stems", "trios-nopiano")
) -> str:
    """One plain-text table: per set (per piece for ``per_piece_sets``, then pooled and mean) and system."""
    header = ["set", "piece", "system"] + [h for h, _ in COLUMNS]
    rows: list[list[str]] = []
    for res in results:
        systems = list(res.per_piece)
        piece_rows = res.pieces if res.name in per_piece_sets else []
        for piece in piece_rows:
            for system in systems:
                s = res.per_piece[system][piece]
                rows.append([res.name, piece, system] + [_fmt(getattr(s, a)) for _, a in COLUMNS])
        for system in systems:
            pooled = res.pooled(system)
            rows.append([res.name, f"pooled ({len(res.pieces)})", system]
                        + [_fmt(getattr(pooled, a)) for _, a in COLUMNS])
        for system in systems:
            mean = res.mean(system)
            rows.append([res.name, "mean", system] + [_fmt(mean[a]) for _, a in COLUMNS])
        for system, reason in res.failures.items():
            rows.append([res.name, "-", system, f"FAILED: {reason}"])
    return align_columns([header] + rows, left=3)
