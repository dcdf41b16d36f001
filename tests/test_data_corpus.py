"""Held-out chorale exclusion of the score material (DEVELOPERS.md: never train on the held-out
chorales nor other harmonisations of their melodies)."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from septimbre.data import corpus, example
from septimbre.data.config import DataConfig
from septimbre.utils.errors import ParameterError

pytest.importorskip("music21", reason="music21 (septimbre[train]) not installed")

#: The list from DEVELOPERS.md, restated here on purpose: the test fails if the constant drifts.
EXPECTED = {
    "bwv255",
    "bwv48.3",
    "bwv256",
    "bwv274",
    "bwv62.6",
    "bwv275",
    "bwv296",
    "bwv297",
    "bwv17.7",
    "bwv326",
    "bwv327",
    "bwv389",
    "bwv390",
    "bwv364",
    "bwv385",
}


def test_held_out_constant_is_the_developers_list():
    assert {n.split("/")[1] for n in corpus.HELD_OUT_CHORALES} == EXPECTED


def test_held_out_files_never_appear_among_candidates():
    cands = corpus.candidate_scores(["bach"])
    assert len(cands) > 300 and "bach/bwv66.6.mxl" in cands
    names = {corpus.corpus_name(p) for p in cands}
    assert not names & set(corpus.HELD_OUT_CHORALES)
    assert not names & set(corpus.SAME_MELODY_AS_HELD_OUT)
    # Every held-out chorale is in the installed corpus (so the exclusion is not vacuous).
    everything = {corpus.corpus_name(p) for p in corpus._all_corpus_paths()}
    assert set(corpus.HELD_OUT_CHORALES) <= everything
    assert not any(p.endswith(".rntxt") for p in cands)  # analyses are not scores


def test_variant_files_and_other_collections_are_filtered_by_name():
    paths = (
        "bach/bwv255.mxl",
        "bach/bwv255-sc.mxl",
        "bach/bwv2550.mxl",
        "bach/bwv48.3.mxl",
        "bach/bwv48.30.mxl",
        "palestrina/Agnus_01.krn",
        "bach/choraleAnalyses/riemenschneider001.rntxt",
    )
    assert corpus.candidate_scores(["bach", "palestrina"], paths=paths) == [
        "bach/bwv2550.mxl",
        "bach/bwv48.30.mxl",
        "palestrina/Agnus_01.krn",
    ]
    with pytest.raises(ParameterError):
        corpus.load_parts("bach/bwv389.mxl")  # refused before any parsing


def test_melody_match_is_transposition_invariant_and_tolerates_ornaments():
    pitches = [67, 69, 71, 67, 72, 71, 69, 71, 68, 69, 71, 73, 68, 75, 73, 72, 74, 70]
    melody = corpus.part_intervals([[i, i + 1, p] for i, p in enumerate(pitches)])
    transposed = corpus.part_intervals([[i, i + 1, p - 5] for i, p in enumerate(pitches)])
    assert melody == transposed and corpus.melodies_match(melody, transposed)
    # A passing note inserted and a repeated note (merged) still match.
    orn = pitches[:6] + [70] + pitches[6:9] + [pitches[8]] + pitches[9:]
    assert corpus.melodies_match(melody, corpus.part_intervals([[i, i + 1, p] for i, p in enumerate(orn)]))
    other = [5, -2, -2, -1, 3, 4, -7, 2, 2, 1, -1, 3, -3, 1, 2, -2]
    assert not corpus.melodies_match(melody, other)
    assert not corpus.melodies_match(melody[:8], melody[:8])  # too short to judge


@pytest.mark.slow
def test_other_harmonisations_of_held_out_melodies_are_detected(tmp_path, monkeypatch):
    """Parses the 15 held-out chorales plus one known re-harmonisation into an empty cache (~5 s)."""
    if not corpus.SAME_MELODY_AS_HELD_OUT:
        pytest.fail("SAME_MELODY_AS_HELD_OUT is empty: run `python -m septimbre.data find-held-out-melodies`")
    monkeypatch.setenv(corpus.CACHE_ENV, str(tmp_path))
    corpus.held_out_melodies.cache_clear()
    try:
        twin = corpus.SAME_MELODY_AS_HELD_OUT[0]
        path = next(p for p in corpus._all_corpus_paths() if corpus.corpus_name(p) == twin)
        # Without the precomputed list, the melody check at load time still refuses it.
        monkeypatch.setattr(corpus, "SAME_MELODY_AS_HELD_OUT", ())
        with pytest.raises(ParameterError, match="melody of held-out"):
            corpus.load_parts(path)
        # A chorale with an unrelated melody loads.
        parts = corpus.load_parts("bach/bwv66.6.mxl")
        assert len(parts) == 4 and all(len(p) > 20 for p in parts)
    finally:
        corpus.held_out_melodies.cache_clear()


def test_josquin_files_are_abc_opuses_that_do_not_parse_so_draws_fall_back_to_random_material():
    # music21's Josquin files are ABC opuses (one single-voice tune per part), which have no
    # ``.parts``: every shipped split was rendered with them unreadable, so a Josquin draw renders
    # random material (docs/data.md). Should a music21 upgrade make them parse, the splits would
    # render other audio than the caches: this test is then the place to notice.
    cands = corpus.candidate_scores(["josquin"])
    assert len(cands) == 8
    for path in cands:
        with pytest.raises(AttributeError, match="parts"):
            corpus._parse_parts(path)
    config = dataclasses.replace(DataConfig.from_json("val"), score_collections={"josquin": 1.0})
    instruments = [("TimGM6mb", 40), ("TimGM6mb", 42)]
    assert example._score_material(config, np.random.default_rng(0), instruments, 10.0) is None
    # The same call with a readable collection does give score material (the test can fail).
    config = dataclasses.replace(config, score_collections={"bach": 1.0})
    assert example._score_material(config, np.random.default_rng(0), instruments, 10.0) is not None


def test_an_unparsable_file_is_reported_once_per_process(caplog):
    config = dataclasses.replace(DataConfig.from_json("val"), score_collections={"josquin": 1.0})
    example._UNPARSABLE_REPORTED.clear()
    with caplog.at_level(logging.DEBUG, logger=example.log.name):
        for seed in range(4):
            example._score_material(config, np.random.default_rng(seed), [("TimGM6mb", 40)], 10.0)
    warned = [r.getMessage().split()[3] for r in caplog.records if r.levelno == logging.WARNING]
    later = [r for r in caplog.records if r.levelno == logging.DEBUG and "could not parse" in r.getMessage()]
    assert warned and len(warned) == len(set(warned))  # each failing file warned about once
    assert later  # 12 draws over 8 files: repeats went to debug
