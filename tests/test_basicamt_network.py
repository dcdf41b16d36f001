"""BasicAMT network: parameter budget, output shapes, silence, save/load round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from septimbre.basicamt.network import MAX_PARAMETERS, BasicAMT, BasicAMTConfig, n_parameters
from septimbre.model.io import load_model, save_model, update_description
from septimbre.utils.constants import N_PITCHES, n_frames


ROOT = Path(__file__).resolve().parents[1]
#: The pitch-resolution trunk (the default) and the earlier 252-bin trunk, as their run configs spell them.
PITCH_LAYOUT = json.loads((ROOT / "basicamt" / "configs" / "train_pitch.json").read_text())["model"]
BINS_LAYOUT = json.loads((ROOT / "basicamt" / "configs" / "train_bins_2000.json").read_text())["model"]


def test_default_config_is_the_pitch_trunk():
    assert BasicAMTConfig() == BasicAMTConfig.from_dict(PITCH_LAYOUT)
    assert BasicAMTConfig.from_dict(BINS_LAYOUT).layout == "bins"


@pytest.fixture(scope="module", params=["bins", "pitch"])
def model(request):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = BasicAMTConfig.from_dict(BINS_LAYOUT if request.param == "bins" else PITCH_LAYOUT)
    return BasicAMT(cfg).eval()


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
    pitch = BasicAMTConfig.from_dict(PITCH_LAYOUT)
    assert BasicAMTConfig.from_dict(json.loads(json.dumps(__import__("dataclasses").asdict(pitch)))) == pitch


@pytest.mark.parametrize("bad", [{"layout": "mel"}, {"context_blocks": 0}, {"layout": "bins", "context_blocks": 2},
                                 {"time_blocks": -1}, {"layout": "bins", "time_blocks": 1}, {"time_kernel": 4},
                                 {"time_dilation": 0}, {"time_blocks": 2, "time_dilations": (3,)},
                                 {"time_blocks": 1, "time_dilations": (0,)}])
def test_config_rejects_bad_layouts(bad):
    with pytest.raises(Exception, match="layout|context_blocks|time_"):
        BasicAMTConfig(**bad)


@pytest.mark.parametrize("spectral", [0, 8])
def test_eval_onset_branch_equals_the_training_form(spectral):
    """In eval the onset branch folds its BatchNorm and splits the conv over [pitch, frame]; it must
    give the numbers of conv -> BatchNorm -> ReLU on the concatenation (with or without the onset
    branch's own spectral channels among the pitch features)."""
    torch.manual_seed(1)
    m = BasicAMT(BasicAMTConfig(onset_spectral_channels=spectral))
    bn = m.onset_hidden[1]
    with torch.no_grad():  # non-trivial BatchNorm statistics and affine
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    m.eval()
    pitch = torch.randn(2, m.config.neck_channels + spectral, N_PITCHES, 17)
    frame_prob = torch.rand(2, 1, N_PITCHES, 17)
    with torch.no_grad():
        split = m._onset_features(pitch, frame_prob)
        plain = m.onset_hidden(torch.cat([pitch, frame_prob], dim=1))
    torch.testing.assert_close(split, plain, atol=1e-5, rtol=1e-5)


def test_onset_spectral_view_feeds_the_onset_head_only():
    """``onset_spectral_channels`` adds a conv from the stacked spectrum to the onset branch: its
    parameters are counted, shipped configs (0) have none, and changing it moves the onset
    posterior but not the frame posterior."""
    torch.manual_seed(3)
    base = BasicAMT(BasicAMTConfig())
    m = BasicAMT(BasicAMTConfig(onset_spectral_channels=8, onset_spectral_kernel=(5, 5))).eval()
    n_h = len(m.config.harmonics)
    assert m.n_parameters() - base.n_parameters() == n_h * 8 * 25 + 2 * 8 + 8 * m.config.onset_channels * 9
    assert not any(k.startswith("onset_spectral") for k in base.state_dict())
    x = 0.1 * torch.randn(1, 22050, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        onset0, frame0 = m(x)
        assert onset0.shape == frame0.shape == (1, N_PITCHES, n_frames(22050))
        m.onset_spectral[0].weight.mul_(3.0)
        onset1, frame1 = m(x)
    torch.testing.assert_close(frame1, frame0, rtol=0, atol=0)
    assert float((onset1 - onset0).abs().max()) > 1e-3
    for bad in ({"onset_spectral_channels": -1}, {"onset_spectral_kernel": (4, 5)},
                {"onset_spectral_kernel": (1, 5)}, {"layout": "bins", "onset_spectral_channels": 4}):
        with pytest.raises(Exception, match="onset_spectral"):
            BasicAMTConfig(**bad)


def assert_time_reach(block, reach: int, frames: int) -> None:
    """An impulse in 16-channel features at the middle frame changes ``block``'s output exactly
    ``reach`` frames each way, and no further."""
    at = frames // 2
    quiet = torch.zeros(1, 16, N_PITCHES, frames)
    impulse = quiet.clone()
    impulse[0, :, 40, at] = 1.0 + torch.rand(16)
    with torch.no_grad():
        moved = (block(impulse) - block(quiet)).abs().sum(dim=(0, 1, 2)) > 0
    assert moved[at - reach] and moved[at + reach]
    assert not moved[:at - reach].any() and not moved[at + reach + 1:].any()


def test_time_blocks_widen_the_time_reach_and_keep_shapes():
    torch.manual_seed(2)
    base = BasicAMT(BasicAMTConfig()).eval()
    grown = BasicAMT(BasicAMTConfig(time_blocks=1, time_kernel=5, time_dilation=3)).eval()
    assert grown.n_parameters() - base.n_parameters() == 16 * 8 + 8 * 8 * 5 + 8 * 16 + 2 * (8 + 8 + 16)
    assert not any(k.startswith("time_context") for k in base.state_dict())  # shipped files load as before
    # an impulse in the features moves the time block's output exactly 6 frames each way
    # ((time_kernel - 1) // 2 * time_dilation), the context block's only 1 (its 1x3 conv)
    assert_time_reach(grown.time_context[0], 6, frames=64)
    assert_time_reach(grown.context[0], 1, frames=64)


def test_time_dilations_set_each_blocks_reach():
    plain = BasicAMTConfig(time_blocks=2, time_dilation=3)
    assert plain.block_time_dilations() == (3, 3)
    assert BasicAMTConfig(time_blocks=0).block_time_dilations() == ()
    torch.manual_seed(3)
    net = BasicAMT(BasicAMTConfig(time_blocks=2, time_dilations=(3, 9))).eval()
    assert net.n_parameters() == BasicAMT(plain).n_parameters()  # dilation changes reach, not size
    assert_time_reach(net.time_context[0], 6, frames=96)
    assert_time_reach(net.time_context[1], 18, frames=96)


def test_pitch_layout_rows_are_semitones():
    """The pitch layout's first conv strides 3 bins so that output row k is centred on CQT bin 3k + 1
    (the semitone's centre bin): with only the kernel's centre tap set, row k copies bin 3k + 1."""
    torch.manual_seed(0)
    net = BasicAMT(BasicAMTConfig.from_dict(PITCH_LAYOUT)).eval()
    conv = net.early[0]
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 1, conv.kernel_size[0] // 2, conv.kernel_size[1] // 2] = 1.0
        x = torch.rand(1, 8, 252, 20)
        rows = net.early(x)[0, 0]
    assert rows.shape == (N_PITCHES, 20)
    torch.testing.assert_close(rows, x[0, 1, 1::3] / (1 + net.early[1].eps) ** 0.5)


def test_format1_json_loads_as_the_bins_trunk(tmp_path):
    """Model JSONs written before `layout` existed (format 1) describe the 252-bin trunk."""
    torch.manual_seed(3)
    old = BasicAMT(BasicAMTConfig.from_dict(BINS_LAYOUT)).eval()
    pt, js = save_model(old, {}, tmp_path / "old")
    desc = json.loads(js.read_text())
    desc["format"] = 1
    for key in ("layout", "context_blocks"):
        del desc["architecture"][key]
    js.write_text(json.dumps(desc))
    loaded, _ = load_model(tmp_path / "old")
    assert loaded.config == old.config and loaded.config.layout == "bins"
    # rewriting the JSON (e.g. when tuning thresholds) stores it in the current format
    new = update_description(tmp_path / "old", onset_threshold=0.4)
    assert new["format"] == 2 and new["architecture"]["layout"] == "bins" and new["onset_threshold"] == 0.4
    assert load_model(tmp_path / "old")[0].config == old.config
