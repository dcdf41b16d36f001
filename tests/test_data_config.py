"""Tests of split configs (septimbre.data.config): the ``"base"`` chain of derived configs and
the promise that every shipped config still describes the data already rendered from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from septimbre.data.config import CONFIG_DIR, DEFAULT_ROOM, DataConfig, load_config_dict
from septimbre.utils.errors import ParameterError

#: sha256 of each shipped config's resolved fields (``DataConfig.to_dict()``, keys sorted), taken
#: before the derived configs were rewritten to name a base. Examples are a pure function of
#: (config, index), so a changed digest means the split would render other audio than the caches
#: and models trained on it: give the changed recipe a new config (and seed) instead.
DIGESTS = json.loads((Path(__file__).parent / "fixtures" / "data_config_digests.json").read_text())


#: Fields added after the digests were taken, with the value that renders as before they existed: a
#: config holding that value resolves to its old digest (so the new field cannot hide a change).
ADDED_LATER = {"synth_prob": 0.0, "family_tilt_db_per_octave": {}, "tilt_limit_db": 12.0}


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_shipped_configs_resolve_to_the_recipes_they_were_rendered_from(name, settings_digest):
    assert settings_digest(DataConfig.from_json(name).to_dict(), ADDED_LATER) == DIGESTS[name]


def test_every_shipped_config_is_covered_by_a_digest():
    assert sorted(p.stem for p in CONFIG_DIR.glob("*.json")) == sorted(DIGESTS)


def test_derived_configs_are_short():
    # The point of "base": a derived config states only what differs from its base.
    derived = [p for p in CONFIG_DIR.glob("*.json") if "base" in json.loads(p.read_text())]
    assert len(derived) >= 10
    for p in derived:
        assert len(p.read_text().splitlines()) < 40, p.name


def _write(folder: Path, name: str, fields: dict) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(fields))
    return path


def test_base_fields_are_replaced_and_augmentation_dicts_merged_key_by_key(tmp_path):
    _write(tmp_path, "parent", {
        "name": "parent", "seed": 5, "soundfonts": {"TimGM6mb": {"programs": [0, 40]}},
        "score_ratio": 0.2, "room": {"gain_db": [-6.0, 0.0], "reverb_prob": 0.5},
        "family_weights": {"piano": 2.0},
    })
    child = _write(tmp_path, "child", {
        "comment": "as parent, louder spread", "base": "parent.json", "name": "child", "seed": 6,
        "room": {"gain_db": [-18.0, 0.0]}, "score_ratio": 0.7,
    })
    cfg = DataConfig.from_json(child)
    assert (cfg.name, cfg.seed, cfg.score_ratio) == ("child", 6, 0.7)
    assert cfg.soundfonts == {"TimGM6mb": {"programs": [0, 40]}}
    assert cfg.room["gain_db"] == [-18.0, 0.0]  # the child's range ...
    assert cfg.room["reverb_prob"] == 0.5  # ... the parent's other room keys ...
    assert cfg.room["rt60_s"] == DEFAULT_ROOM["rt60_s"]  # ... and defaults for the rest
    assert cfg.family_weights["piano"] == 2.0
    assert "base" not in load_config_dict(child) and "comment" not in load_config_dict(child)


def test_a_bare_base_name_means_a_shipped_config(tmp_path):
    child = _write(tmp_path, "mine", {"base": "train_real", "name": "mine", "seed": 99,
                                      "room": {"gain_db": [-12.0, 0.0]}})
    cfg, real = DataConfig.from_json(child), DataConfig.from_json("train_real")
    assert cfg.room == {**real.room, "gain_db": [-12.0, 0.0]}
    assert cfg.performance == real.performance and cfg.soundfonts == real.soundfonts


def test_base_cycles_missing_bases_and_unnamed_children_are_clear_errors(tmp_path):
    _write(tmp_path, "a", {"base": "b.json", "name": "a", "seed": 1})
    _write(tmp_path, "b", {"base": "a.json", "name": "b", "seed": 2})
    with pytest.raises(ParameterError, match="cycle"):
        DataConfig.from_json(tmp_path / "a.json")
    with pytest.raises(ParameterError, match="not found"):
        DataConfig.from_json(_write(tmp_path, "c", {"base": "nope.json", "name": "c", "seed": 3}))
    with pytest.raises(ParameterError, match="own name"):
        DataConfig.from_json(_write(tmp_path, "d", {"base": "train", "seed": 4}))
    (tmp_path / "e.json").write_text("{not json")
    with pytest.raises(ParameterError, match="not valid JSON"):
        DataConfig.from_json(tmp_path / "e.json")


def test_a_synth_share_enters_the_digest_and_zero_is_neutral(settings_digest):
    raw = load_config_dict("train_synth")
    assert raw["synth_prob"] == 0.5
    off = DataConfig(**{**raw, "synth_prob": 0.0})
    assert settings_digest(off.to_dict(), ADDED_LATER) != DIGESTS["train_synth"]
    assert "synth_prob" in DataConfig.from_json("train_synth").to_dict()
