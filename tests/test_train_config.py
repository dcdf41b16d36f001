"""Tests of training configs (``basicamt/configs``): the ``"base"`` chain of derived configs and the
promise that every committed config still holds the hyper-parameters its run was trained with."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from septimbre.basicamt.train import TRAIN_CONFIG_DIR, TrainConfig
from septimbre.utils.errors import MissingResourceError, ParameterError

#: sha256 of each committed training config's resolved fields (``dataclasses.asdict``, keys
#: sorted), taken before the configs were rewritten to name a base. The runs and shipped weights
#: were trained from these: a changed digest means a config no longer reproduces its run.
DIGESTS = json.loads((Path(__file__).parent / "fixtures" / "train_config_digests.json").read_text())


#: Fields added after the digests were taken, with the value that trains as before they existed: a
#: config holding that value resolves to its old digest (so the new field cannot hide a change).
ADDED_LATER = {"remix_prob": 0.0, "remix_gain_db": [-12.0, 0.0], "ema_decay": 0.0, "teachers": [],
               "distill_weight": 0.0}


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_committed_configs_resolve_to_the_settings_their_runs_used(name, settings_digest):
    cfg = TrainConfig.load(TRAIN_CONFIG_DIR / f"{name}.json")
    assert settings_digest(dataclasses.asdict(cfg), ADDED_LATER) == DIGESTS[name]


def test_every_committed_config_is_covered_by_a_digest():
    assert sorted(p.stem for p in TRAIN_CONFIG_DIR.glob("*.json")) == sorted(DIGESTS)


def test_derived_configs_are_short():
    derived = [p for p in TRAIN_CONFIG_DIR.glob("*.json") if "base" in json.loads(p.read_text())]
    assert len(derived) >= 40
    for p in derived:
        assert len(p.read_text().splitlines()) < 30, p.name


def test_a_bare_name_means_the_config_folder():
    assert TrainConfig.load("train") == TrainConfig.load(TRAIN_CONFIG_DIR / "train.json")


def test_model_merges_key_by_key_and_other_fields_replace(tmp_path):
    base = TrainConfig.load("train")
    child = tmp_path / "child.json"
    child.write_text(json.dumps({"comment": "x", "base": "train", "lr": 0.123, "model": {"neck_channels": 5}}))
    cfg = TrainConfig.load(child)
    assert cfg.lr == 0.123
    assert cfg.model == {**base.model, "neck_channels": 5}
    assert dataclasses.replace(cfg, lr=base.lr, model=base.model) == base


def test_a_relative_base_is_found_beside_the_deriving_file(tmp_path):
    (tmp_path / "parent.json").write_text(json.dumps({"base": "train", "max_steps": 7}))
    (tmp_path / "child.json").write_text(json.dumps({"base": "parent.json", "batch_size": 3}))
    cfg = TrainConfig.load(tmp_path / "child.json")
    assert (cfg.max_steps, cfg.batch_size) == (7, 3)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(MissingResourceError, match="training config not found"):
        TrainConfig.load(tmp_path / "absent.json")
    (tmp_path / "typo.json").write_text(json.dumps({"base": "train", "learning_rate": 1.0}))
    with pytest.raises(ParameterError, match="learning_rate"):
        TrainConfig.load(tmp_path / "typo.json")
    (tmp_path / "a.json").write_text(json.dumps({"base": "b.json"}))
    (tmp_path / "b.json").write_text(json.dumps({"base": "a.json"}))
    with pytest.raises(ParameterError, match="cycle"):
        TrainConfig.load(tmp_path / "a.json")
    (tmp_path / "orphan.json").write_text(json.dumps({"base": "no_such_config"}))
    with pytest.raises(ParameterError, match="not found"):
        TrainConfig.load(tmp_path / "orphan.json")


def test_remix_settings_load_from_json_and_are_checked(tmp_path, settings_digest):
    path = tmp_path / "remix.json"
    path.write_text(json.dumps({"base": str(TRAIN_CONFIG_DIR / "finetune_b12_melodic.json"), "remix_prob": 0.25,
                                "remix_gain_db": [-6, 0]}))
    cfg = TrainConfig.load(path)
    assert cfg.remix_prob == 0.25 and cfg.remix_gain_db == (-6, 0)
    # A config that leaves remixing at its default resolves to its old digest; one that remixes does not.
    base = TrainConfig.load(TRAIN_CONFIG_DIR / "finetune_b12_melodic.json")
    digest = lambda c: settings_digest(dataclasses.asdict(c), ADDED_LATER)  # noqa: E731
    assert digest(base) == DIGESTS["finetune_b12_melodic"] != digest(cfg)
    for bad in ({"remix_prob": 1.5}, {"remix_prob": -0.1}, {"remix_gain_db": [0, -6]}, {"remix_gain_db": [-6]}):
        with pytest.raises(ParameterError, match="remix"):
            TrainConfig.from_dict(bad)
