"""``python -m septimbre.evaluate compare``: paired bootstrap and ship rule on hand-made results files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from septimbre.evaluate.cli import main
from septimbre.evaluate.compare import load_results, paired_bootstrap, ship_rule
from septimbre.utils.errors import ParameterError


def _results(per_set: dict[str, dict[str, float]], system: str = "septimbre") -> dict:
    """A results document shaped like the transcription command's: per set, per piece note F1 and its mean."""
    doc = {}
    for set_name, pieces in per_set.items():
        rows = {name: {"note_f1": f1, "note_precision": f1} for name, f1 in pieces.items()}
        mean = sum(pieces.values()) / len(pieces)
        doc[set_name] = {"pieces": sorted(pieces), "failures": {},
                         "systems": {system: {"per_piece": rows, "mean": {"note_f1": mean}}}}
    return doc


def _rule_doc(val: float, unseen: float, trios: float, nopiano: float) -> dict:
    return _results({"synthetic-val": {"a": val}, "unseen": {"a": unseen}, "trios": {"a": trios},
                     "trios-nopiano": {"a": nopiano}})


def test_identical_results_differ_by_zero():
    doc = _results({"trios": {"a": 0.8, "b": 0.7, "c": 0.9}})
    (row,) = paired_bootstrap(doc, doc)
    assert (row.n, row.diff, row.low, row.high) == (3, 0.0, 0.0, 0.0)


def test_constant_shift_has_a_point_interval():
    base = _results({"trios": {"a": 0.5, "b": 0.6, "c": 0.7}})
    cand = _results({"trios": {"a": 0.6, "b": 0.7, "c": 0.8}})
    (row,) = paired_bootstrap(base, cand)
    assert row.diff == pytest.approx(0.1)
    assert row.low == pytest.approx(0.1) and row.high == pytest.approx(0.1)
    assert row.base == pytest.approx(0.6) and row.cand == pytest.approx(0.7)


def test_interval_brackets_a_mixed_difference_and_is_reproducible():
    base = _results({"val": {f"p{i}": 0.5 for i in range(20)}})
    cand = _results({"val": {f"p{i}": 0.5 + (0.05 if i % 2 else -0.03) for i in range(20)}})
    a = paired_bootstrap(base, cand, seed=3)[0]
    b = paired_bootstrap(base, cand, seed=3)[0]
    assert a == b
    assert a.diff == pytest.approx(0.01)
    assert -0.03 < a.low < a.diff < a.high < 0.05


def test_only_shared_sets_and_pieces_count():
    base = _results({"trios": {"a": 0.5, "b": 0.5}, "unseen": {"x": 0.1}})
    cand = _results({"trios": {"a": 0.7, "c": 0.9}, "synthetic-val": {"y": 0.3}})
    rows = paired_bootstrap(base, cand)
    assert [(r.set_name, r.n) for r in rows] == [("trios", 1)]
    assert rows[0].diff == pytest.approx(0.2)


def test_other_metric_and_unknown_system():
    base = _results({"trios": {"a": 0.5}})
    cand = _results({"trios": {"a": 0.6}})
    assert paired_bootstrap(base, cand, metric="note_precision")[0].diff == pytest.approx(0.1)
    with pytest.raises(ParameterError, match="no system"):
        paired_bootstrap(base, cand, system="basic-pitch")


def test_ship_rule_passes_a_better_candidate():
    base = _rule_doc(0.800, 0.797, 0.831, 0.872)
    checks = ship_rule(base, _rule_doc(0.801, 0.797, 0.832, 0.873))
    assert [c.holds for c in checks] == [True, True, True]


def test_ship_rule_conditions_fail_one_by_one():
    base = _rule_doc(0.800, 0.797, 0.831, 0.872)
    # 1: unseen one thousandth worse
    assert [c.holds for c in ship_rule(base, _rule_doc(0.810, 0.796, 0.840, 0.880))] == [False, True, True]
    # 2: the TRIOS / without-piano average lower (0.851 against 0.8515)
    assert [c.holds for c in ship_rule(base, _rule_doc(0.800, 0.797, 0.827, 0.875))] == [True, False, True]
    # 3: TRIOS 0.006 below while the average is higher
    assert [c.holds for c in ship_rule(base, _rule_doc(0.800, 0.797, 0.825, 0.890))] == [True, True, False]
    # 3 at its edge: exactly 0.005 below holds
    assert ship_rule(base, _rule_doc(0.800, 0.797, 0.826, 0.890))[2].holds


def test_ship_rule_needs_its_sets():
    base = _rule_doc(0.8, 0.8, 0.8, 0.8)
    cand = _results({"trios": {"a": 0.9}})
    with pytest.raises(ParameterError, match="trios-nopiano|synthetic-val"):
        ship_rule(base, cand)


def test_load_results_rejects_other_files(tmp_path: Path):
    with pytest.raises(ParameterError, match="not found"):
        load_results(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ParameterError, match="not JSON"):
        load_results(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"rows": [1, 2]}))
    with pytest.raises(ParameterError, match="not a results file"):
        load_results(other)


def test_command_prints_table_and_verdict(tmp_path: Path, capsys):
    base, cand = tmp_path / "base.json", tmp_path / "cand.json"
    base.write_text(json.dumps(_rule_doc(0.800, 0.797, 0.831, 0.872)))
    cand.write_text(json.dumps(_rule_doc(0.802, 0.798, 0.827, 0.872)))
    assert main(["compare", str(base), str(cand), "--ship-rule"]) == 0
    out = capsys.readouterr().out
    assert "trios-nopiano" in out and "-0.0040" in out
    assert "FAILS  2." in out and "verdict: does not ship" in out


def test_command_reports_missing_file(tmp_path: Path, capsys):
    base = tmp_path / "base.json"
    base.write_text(json.dumps(_rule_doc(0.8, 0.8, 0.8, 0.8)))
    assert main(["compare", str(base), str(tmp_path / "nope.json")]) == 2
    assert "not found" in capsys.readouterr().err


def _with_parts(doc: dict, set_name: str, parts: dict) -> dict:
    doc[set_name]["systems"]["septimbre"]["recall_by_part"] = parts
    return doc


def test_part_recall_pairs_parts_scored_on_the_same_references():
    from septimbre.evaluate.compare import format_part_recall, part_recall

    base = _with_parts(_rule_doc(0.8, 0.8, 0.8, 0.8), "trios",
                       {"lussier": {"bassoon": {"matched": 27, "total": 65}, "piano": {"matched": 86, "total": 119}}})
    cand = _with_parts(_rule_doc(0.8, 0.8, 0.8, 0.8), "trios",
                       {"lussier": {"bassoon": {"matched": 31, "total": 65}, "piano": {"matched": 80, "total": 118}}})
    rows = part_recall(base, cand)
    # The piano's totals differ (other references), so only the bassoon is paired.
    assert [(r.piece, r.part, r.total, r.base, r.cand) for r in rows] == [("lussier", "bassoon", 65, 27, 31)]
    assert "+4" in format_part_recall(rows)
    assert part_recall(_rule_doc(0.8, 0.8, 0.8, 0.8), cand) == []  # the base has no per-part rows


def test_command_prints_parts_on_request(tmp_path: Path, capsys):
    base, cand = tmp_path / "base.json", tmp_path / "cand.json"
    base.write_text(json.dumps(_with_parts(_rule_doc(0.8, 0.8, 0.8, 0.8), "trios",
                                           {"brahms": {"horn": {"matched": 37, "total": 42}}})))
    cand.write_text(json.dumps(_with_parts(_rule_doc(0.8, 0.8, 0.8, 0.8), "trios",
                                           {"brahms": {"horn": {"matched": 35, "total": 42}}})))
    assert main(["compare", str(base), str(cand)]) == 0
    assert "horn" not in capsys.readouterr().out
    assert main(["compare", str(base), str(cand), "--parts"]) == 0
    out = capsys.readouterr().out
    assert "horn" in out and "-2" in out
