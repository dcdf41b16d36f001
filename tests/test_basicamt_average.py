"""Weight averaging of BasicAMT models: exact means, architecture checks, the saved JSON."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from septimbre.basicamt.average import average_models, main
from septimbre.basicamt.network import BasicAMT, BasicAMTConfig
from septimbre.model.io import load_model, save_model
from septimbre.utils.errors import ParameterError


def _saved(tmp_path, name, seed, **arch):
    torch.manual_seed(seed)
    model = BasicAMT(BasicAMTConfig(**arch)).eval()
    with torch.no_grad():  # give the BatchNorm statistics distinct values too
        for key, buf in model.named_buffers():
            if key.endswith("running_mean"):
                buf.normal_()
    save_model(model, {"onset_threshold": 0.1 * seed}, tmp_path / name)
    return model, tmp_path / name


def test_average_is_the_elementwise_mean_and_keeps_the_first_json(tmp_path):
    a, sa = _saved(tmp_path, "a", 1)
    b, sb = _saved(tmp_path, "b", 2)
    average_models([sa, sb], tmp_path / "ab")
    ab, desc = load_model(tmp_path / "ab")
    sa_, sb_, sab = a.state_dict(), b.state_dict(), ab.state_dict()
    for key, value in sab.items():
        if torch.is_floating_point(value):
            assert torch.allclose(value, (sa_[key] + sb_[key]) / 2, atol=1e-6), key
        else:
            assert torch.equal(value, sa_[key]), key
    changed = [k for k in sab if torch.is_floating_point(sab[k]) and not torch.equal(sab[k], sa_[k])]
    assert any("running_mean" in k for k in changed) and any(k.endswith("weight") for k in changed)
    assert desc["onset_threshold"] == pytest.approx(0.1)
    assert [e["weight"] for e in desc["averaged_from"]] == [0.5, 0.5]


def test_weights_are_normalised_and_a_one_hot_weight_copies_a_model(tmp_path):
    a, sa = _saved(tmp_path, "a", 1)
    _, sb = _saved(tmp_path, "b", 2)
    average_models([sa, sb], tmp_path / "only_a", weights=[3.0, 0.0])
    copy, _ = load_model(tmp_path / "only_a")
    for key, value in copy.state_dict().items():
        assert torch.allclose(value.float(), a.state_dict()[key].float()), key
    x = torch.randn(1, 22050)
    assert torch.allclose(copy(x)[0], a(x)[0], atol=1e-6)


def test_different_architectures_and_bad_weights_are_refused(tmp_path):
    _, sa = _saved(tmp_path, "a", 1)
    _, sw = _saved(tmp_path, "wide", 2, onset_channels=12)
    with pytest.raises(ParameterError, match="architecture"):
        average_models([sa, sw], tmp_path / "x")
    with pytest.raises(ParameterError, match="two models"):
        average_models([sa], tmp_path / "x")
    with pytest.raises(ParameterError, match="weights"):
        average_models([sa, sa], tmp_path / "x", weights=[1.0, -1.0])
    assert not (tmp_path / "x.pt").exists()


def test_command_line_writes_the_soup(tmp_path, capsys):
    _, sa = _saved(tmp_path, "a", 1)
    _, sb = _saved(tmp_path, "b", 2)
    assert main(["--models", str(sa), str(sb), "--out", str(tmp_path / "soup" / "basicamt")]) == 0
    assert (tmp_path / "soup" / "basicamt.pt").is_file()
    desc = json.loads((tmp_path / "soup" / "basicamt.json").read_text())
    assert [e["model"] for e in desc["averaged_from"]] == [str(sa), str(sb)]
    assert "re-tune" in capsys.readouterr().out
