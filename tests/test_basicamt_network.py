"""BasicAMT network: parameter budget, output shapes, silence, save/load round trip."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from septimbre.basicamt.network import MAX_PARAMETERS, BasicAMT, BasicAMTConfig, n_parameters
from septimbre.model.io import load_model, save_model
from septimbre.utils.constants import N_PITCHES, n_frames


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    return BasicAMT().eval()


def test_parameter_budget(model):
    n = model.n_parameters()
    assert n == n_parameters(model) == sum(p.numel() for p in model.parameters())
    assert 10_000 < n <= MAX_PARAMETERS
    # the CQT kernels and the decimator are fixed buffers, not parameters
    names = {name for name, _ in model.named_parameters()}
    assert not any(name.startswith("cqt.") for name in names)


@pytest.mark.parametrize("n_samples", [1, 255, 256, 257, 22050 + 3])
def test_output_shapes_and_ranges(model, n_samples):
    g = torch.Generator().manual_seed(n_samples)
    with torch.no_grad():
        onset, frame = model(0.1 * torch.randn(2, n_samples, generator=g))
        onset_logits, frame_logits = model.logits(0.1 * torch.randn(2, n_samples, generator=g))
    for t in (onset, frame, onset_logits, frame_logits):
        assert t.shape == (2, N_PITCHES, n_frames(n_samples))
        assert torch.isfinite(t).all()
    assert 0.0 <= float(onset.min()) and float(frame.max()) <= 1.0


def test_silence_gives_finite_output(model):
    with torch.no_grad():
        onset, frame = model(torch.zeros(1, 4096))
    assert torch.isfinite(onset).all() and torch.isfinite(frame).all()


def test_config_round_trips_through_json():
    cfg = BasicAMTConfig(early_channels=4, neck_channels=4, onset_channels=4)
    data = json.loads(json.dumps(__import__("dataclasses").asdict(cfg)))
    assert BasicAMTConfig.from_dict(data) == cfg
    with pytest.raises(Exception):
        BasicAMTConfig.from_dict({"no_such_key": 1})


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(1)
    small = BasicAMT(BasicAMTConfig(early_channels=4, neck_channels=4, onset_channels=4))
    with torch.no_grad():
        for p in small.parameters():
            p.add_(0.01 * torch.randn_like(p))
    small.eval()
    pt, js = save_model(small, {"onset_threshold": 0.5, "frame_threshold": 0.3, "min_note_ms": 50.0}, tmp_path / "m")
    state = torch.load(pt, weights_only=True)
    assert set(state) == set(small.state_dict())
    loaded, desc = load_model(tmp_path / "m")
    assert desc["class"] == "septimbre.basicamt.network.BasicAMT"
    assert desc["onset_threshold"] == 0.5 and desc["n_parameters"] == small.n_parameters()
    assert loaded.config == small.config
    x = 0.1 * torch.randn(1, 3000, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        for a, b in zip(small(x), loaded(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
