"""BasicAMT training loop on the tiny synthetic tone dataset: learns, resumes exactly, config file."""

from __future__ import annotations

import dataclasses
import json
import types
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from septimbre.basicamt.synthetic import ToneDataset
from septimbre.basicamt.train import TrainConfig, lr_factor, train
from septimbre.basicamt.validation import collect, rolls_to_notes
from septimbre.model.io import load_model

ROOT = Path(__file__).resolve().parents[1]
TINY = {"early_channels": 4, "neck_channels": 4, "onset_channels": 4}


def tiny_config(**kw) -> TrainConfig:
    base = dict(
        model=TINY, batch_size=4, max_steps=30, lr=1e-2, warmup_steps=3, threads=1, num_workers=0,
        log_every_steps=5, val_every_steps=1000, checkpoint_every_steps=1000, seed=3,
    )
    base.update(kw)
    return TrainConfig(**base)


def eval_outputs(source, grown, *, seed: int, batch: int):
    """Both models in eval mode on the same seeded noise (``batch`` x 1 s): ``(x, source(x), grown(x))``,
    each output an ``(onset, frame)`` pair."""
    source.eval(), grown.eval()
    x = 0.1 * torch.randn(batch, 22050, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return x, source(x), grown(x)


def test_committed_config_loads_and_typos_are_rejected():
    cfg = TrainConfig.load(ROOT / "basicamt" / "configs" / "train.json")
    assert cfg.bf16 and cfg.channels_last and cfg.num_workers <= 1
    with pytest.raises(Exception):
        TrainConfig.from_dict({"learning_rate": 1.0})


@pytest.mark.parametrize("spread", [-0.1, 1.5])
def test_onset_spread_outside_0_1_is_refused(spread):
    from septimbre.utils.errors import ParameterError

    assert TrainConfig.from_dict({"onset_spread": 0.5}).onset_spread == 0.5
    with pytest.raises(ParameterError, match="onset_spread"):
        TrainConfig.from_dict({"onset_spread": spread})


@pytest.mark.parametrize("frames", [0, -1, 1.5])
def test_onset_spread_frames_must_be_a_positive_int(frames):
    from septimbre.utils.errors import ParameterError

    assert TrainConfig.from_dict({"onset_spread_frames": 2}).onset_spread_frames == 2
    assert TrainConfig().onset_spread_frames == 1
    with pytest.raises(ParameterError, match="onset_spread_frames"):
        TrainConfig.from_dict({"onset_spread_frames": frames})


def test_lr_schedule_warms_up_then_decays_to_floor():
    cfg = TrainConfig(max_steps=100, warmup_steps=10, min_lr_ratio=0.1)
    f = [lr_factor(s, cfg) for s in range(101)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[10:], f[11:]))
    assert f[100] == pytest.approx(0.1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run shared by the tests below: (config, val set, loss before, result)."""
    from septimbre.basicamt.train import _build_model

    torch.set_num_threads(1)
    cfg = tiny_config()
    val = ToneDataset(8, clip_seconds=1.0, seed=99)
    _, before = collect(_build_model(cfg), val)
    out = tmp_path_factory.mktemp("run")
    result = train(cfg, ToneDataset(48, clip_seconds=1.0, seed=0), val, out, progress=False)
    return cfg, val, before, result


def test_tiny_training_run_reduces_validation_loss(trained):
    cfg, _, before, result = trained
    assert result.complete and result.step == cfg.max_steps
    assert result.last_val["val_loss"] < 0.5 * before["val_loss"]
    log = [json.loads(line) for line in (result.out_dir / "log.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in log].count("val") == 1 and log[-1]["step"] == cfg.max_steps
    model, desc = load_model(result.out_dir / "basicamt")
    assert desc["training"]["complete"] and desc["training"]["step"] == cfg.max_steps
    assert {"onset_threshold", "frame_threshold", "min_note_ms"} <= set(desc)
    assert desc["thresholds_tuned"] is False


def test_tune_writes_thresholds_into_the_model_json(trained):
    from septimbre.basicamt.tune import tune

    _, val, _, result = trained
    stem = result.out_dir / "basicamt"
    best = tune(stem, result.out_dir / "synthetic-val", dataset=val, progress=False)
    desc = json.loads(stem.with_suffix(".json").read_text())
    assert desc["thresholds_tuned"] is True
    assert (desc["onset_threshold"], desc["frame_threshold"], desc["min_note_ms"]) == (
        best.onset_threshold, best.frame_threshold, best.min_note_ms)
    assert desc["tuning"]["best"]["note_f1"] == best.note_f1 > 0.0
    assert (desc["infer_onsets"], desc["recover_onsetless"]) == (best.infer_onsets, best.recover_onsetless)
    variants = desc["tuning"]["best_per_decoder_variant"]
    assert len(variants) == 4 and max(v["note_f1"] for v in variants) == best.note_f1
    load_model(stem)  # still loads


def test_tune_search_picks_the_decoder_variant_that_scores_best(monkeypatch):
    """With a scorer whose optimum is known, the search finds its variant and thresholds, and a tie
    between variants keeps the decoder's defaults."""
    import septimbre.basicamt.validation as validation
    from septimbre.basicamt.tune import search

    def fake_score(clips, *, onset_threshold, frame_threshold, min_note_ms, infer_onsets, recover_onsetless):
        f1 = 0.9 - abs(onset_threshold - 0.3) - abs(frame_threshold - 0.35) - abs(min_note_ms - 70.0) / 1000
        f1 -= 0.0 if (infer_onsets, recover_onsetless) in clips else 0.2
        return types.SimpleNamespace(note_f1=f1, note_precision=f1, note_recall=f1, frame_f1=0.5,
                                     note_f1_mean=f1)

    monkeypatch.setattr(validation, "score", fake_score)
    best, trials = search({(False, True)}, progress=False)
    assert (best.infer_onsets, best.recover_onsetless) == (False, True)
    assert (best.onset_threshold, best.frame_threshold, best.min_note_ms) == (0.3, 0.35, 70.0)
    assert {(t.infer_onsets, t.recover_onsetless) for t in trials} == {(True, True), (False, True), (True, False),
                                                                      (False, False)}
    tie, _ = search({(True, True), (False, False)}, progress=False)
    assert (tie.infer_onsets, tie.recover_onsetless) == (True, True)


def test_tune_command_line_can_turn_the_progress_bar_off(monkeypatch, capsys):
    import septimbre.basicamt.tune as tune_mod

    seen = {}

    def fake_tune(model, val, **kwargs):
        seen.update(kwargs)
        return tune_mod.Trial(0.1, 0.3, 35.0, 0.5, 0.5, 0.5, 0.6, False, False, 0.5)

    monkeypatch.setattr(tune_mod, "tune", fake_tune)
    assert tune_mod.main(["--model", "m", "--val", "v", "--threads", "1", "--no-progress"]) == 0
    assert seen["progress"] is False
    assert tune_mod.main(["--model", "m", "--val", "v", "--threads", "1"]) == 0
    assert seen["progress"] is True
    assert "onset_threshold=0.1" in capsys.readouterr().out


def test_tune_refuses_real_recordings(trained, tmp_path):
    from septimbre.basicamt.tune import tune
    from septimbre.utils.errors import ParameterError

    with pytest.raises(ParameterError):
        tune(trained[3].out_dir / "basicamt", tmp_path / "trios", dataset=trained[1], progress=False)


def test_resume_continues_exactly(tmp_path):
    cfg = tiny_config(max_steps=8)

    def data():
        return ToneDataset(10, clip_seconds=0.5, seed=1)  # 2 batches per epoch: resume crosses epochs

    train(cfg, data(), None, tmp_path / "straight", progress=False)
    first = train(cfg, data(), None, tmp_path / "resumed", progress=False, max_steps=3)
    assert not first.complete
    train(cfg, data(), None, tmp_path / "resumed", progress=False, resume=True)
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)
    assert (a["step"], a["epoch"], a["pos"]) == (b["step"], b["epoch"], b["pos"])
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0)


def test_resume_records_each_call_and_warns_when_the_settings_change(tmp_path, caplog):
    """A run resumed with another precision (or any other setting) says so, in the log and in log.jsonl."""
    cfg = tiny_config(max_steps=4)
    data = ToneDataset(10, clip_seconds=0.5, seed=1)
    train(cfg, data, None, tmp_path / "run", progress=False, max_steps=1)
    with caplog.at_level("WARNING", logger="septimbre.basicamt.train"):
        train(cfg, data, None, tmp_path / "run", progress=False, max_steps=2, resume=True)
    assert "other settings" not in caplog.text
    switched = dataclasses.replace(cfg, bf16=not cfg.bf16, lr=cfg.lr * 2)
    with caplog.at_level("WARNING", logger="septimbre.basicamt.train"):
        train(switched, data, None, tmp_path / "run", progress=False, max_steps=3, resume=True)
    assert "other settings than the checkpoint's first 2 steps" in caplog.text and "bf16" in caplog.text
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    segments = [r for r in log if r["kind"] == "segment"]
    assert [(r["step"], r["resumed"], r["bf16"]) for r in segments] == [
        (0, False, cfg.bf16), (1, True, cfg.bf16), (2, True, not cfg.bf16)]
    assert segments[1]["config_changes"] == {}
    assert set(segments[2]["config_changes"]) == {"bf16", "lr"}
    assert segments[2]["config_changes"]["bf16"] == {"checkpoint": cfg.bf16, "now": not cfg.bf16}


def test_config_changes_ignores_fields_a_checkpoint_predates_while_they_hold_their_default():
    from septimbre.basicamt.train import config_changes

    cfg = tiny_config()
    old = json.loads(json.dumps(dataclasses.asdict(cfg)))
    del old["ema_decay"]
    assert config_changes(old, cfg) == {} and config_changes(None, cfg) == {}
    assert set(config_changes(old, dataclasses.replace(cfg, ema_decay=0.99))) == {"ema_decay"}


def test_init_from_a_saved_model_starts_from_its_weights(trained, tmp_path):
    from septimbre.utils.errors import ParameterError

    _, _, _, result = trained
    source, _ = load_model(result.out_dir / "basicamt")
    # lr 0: AdamW leaves the parameters where --init put them (BN running stats still move)
    cfg = tiny_config(max_steps=2, lr=0.0)
    train(cfg, ToneDataset(8, clip_seconds=0.5, seed=4), None, tmp_path / "ft", progress=False,
          init_from=result.out_dir / "basicamt")
    tuned, desc = load_model(tmp_path / "ft" / "basicamt")
    for (name, a), (_, b) in zip(source.named_parameters(), tuned.named_parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert desc["training"]["init_from"].endswith("basicamt")
    # a fresh run without --init starts elsewhere; a different architecture is refused
    train(cfg, ToneDataset(8, clip_seconds=0.5, seed=4), None, tmp_path / "fresh", progress=False)
    fresh, _ = load_model(tmp_path / "fresh" / "basicamt")
    assert not torch.equal(fresh.early[0].weight, source.early[0].weight)
    with pytest.raises(ParameterError, match="architecture differs"):
        train(tiny_config(model={**TINY, "early_kernel": [3, 3]}), ToneDataset(8, clip_seconds=0.5, seed=4), None,
              tmp_path / "bad", progress=False, init_from=result.out_dir / "basicamt")


def test_init_may_grow_time_blocks_which_start_quiet(trained):
    from septimbre.basicamt.network import BasicAMT, BasicAMTConfig
    from septimbre.basicamt.train import _load_initial_weights
    from septimbre.utils.errors import ParameterError

    _, _, _, result = trained
    stem = result.out_dir / "basicamt"
    source, _ = load_model(stem)
    grown = BasicAMT(BasicAMTConfig.from_dict({**TINY, "time_blocks": 2}))
    _load_initial_weights(grown, stem)
    for name, p in source.state_dict().items():  # every old weight copied
        torch.testing.assert_close(grown.state_dict()[name], p, rtol=0, atol=0, msg=name)
    x, (o0, f0), (o1, f1) = eval_outputs(source, grown, seed=5, batch=1)
    # the new blocks add ~1 % of their input: the grown model starts where the saved one was
    assert float((f1 - f0).abs().max()) < 0.05 and float((o1 - o0).abs().max()) < 0.05
    with torch.no_grad():
        grown.time_context[0][-1][1].weight.fill_(1.0)
        assert float((grown(x)[1] - f0).abs().max()) > 0.05  # the check above can fail
    with pytest.raises(ParameterError, match="architecture differs"):
        _load_initial_weights(BasicAMT(BasicAMTConfig.from_dict({**TINY, "time_blocks": 1, "onset_channels": 3})),
                              stem)


def test_init_may_widen_channels_and_starts_computing_the_same(trained):
    from septimbre.basicamt.network import BasicAMT, BasicAMTConfig
    from septimbre.basicamt.train import _load_initial_weights
    from septimbre.utils.errors import ParameterError

    _, _, _, result = trained
    stem = result.out_dir / "basicamt"
    source, _ = load_model(stem)
    widths = {"early_channels": 6, "context_channels": 10, "neck_channels": 7, "onset_channels": 6}
    wide = BasicAMT(BasicAMTConfig.from_dict({**TINY, **widths, "time_blocks": 1}))
    _load_initial_weights(wide, stem)
    assert wide.n_parameters() > source.n_parameters()
    # old weights in the leading slices; the frame probability stays the last input of onset_hidden
    torch.testing.assert_close(wide.early[0].weight[:4], source.early[0].weight, rtol=0, atol=0)
    src_w, new_w = source.onset_hidden[0].weight.detach(), wide.onset_hidden[0].weight.detach()
    torch.testing.assert_close(new_w[:4, -1], src_w[:, -1], rtol=0, atol=0)
    assert float(new_w[:, 4:7].abs().max()) == 0.0  # the new neck channels are ignored at first
    x, (o0, f0), (o1, f1) = eval_outputs(source, wide, seed=6, batch=2)
    assert float((f1 - f0).abs().max()) < 0.02 and float((o1 - o0).abs().max()) < 0.02  # quiet time block
    # the new channels learn: their (zero) outgoing weights get a gradient in training mode
    wide.train()
    onset, frame = wide.logits(x)
    (onset.mean() + frame.mean()).backward()
    assert float(wide.neck[0].weight.grad[:, 4:].abs().max()) > 0
    with torch.no_grad():  # once those weights move, the output does (the check above can fail)
        wide.eval()
        wide.frame_head.weight[:, 4:] = 1.0
        assert float((wide(x)[1] - f0).abs().max()) > 0.02
    with pytest.raises(ParameterError, match="architecture differs"):  # narrower than saved
        _load_initial_weights(BasicAMT(BasicAMTConfig.from_dict({**TINY, "neck_channels": 3})), stem)


def test_init_may_append_harmonics_which_start_ignored(trained):
    from septimbre.basicamt.network import BasicAMT, BasicAMTConfig
    from septimbre.basicamt.train import _load_initial_weights
    from septimbre.model.stacking import DEFAULT_HARMONICS
    from septimbre.utils.errors import ParameterError

    _, _, _, result = trained
    stem = result.out_dir / "basicamt"
    source, _ = load_model(stem)
    more = BasicAMT(BasicAMTConfig.from_dict({**TINY, "harmonics": list(DEFAULT_HARMONICS) + [1.5, 2.5]}))
    _load_initial_weights(more, stem)
    n_h = len(DEFAULT_HARMONICS)
    assert more.early[0].weight.shape[1] == n_h + 2
    torch.testing.assert_close(more.early[0].weight[:, :n_h], source.early[0].weight, rtol=0, atol=0)
    assert float(more.early[0].weight.detach()[:, n_h:].abs().max()) == 0.0
    x, (o0, f0), (o1, f1) = eval_outputs(source, more, seed=7, batch=2)
    torch.testing.assert_close(f1, f0, rtol=0, atol=1e-5)
    torch.testing.assert_close(o1, o0, rtol=0, atol=1e-5)
    more.train()  # the new inputs learn: their zero weights get a gradient
    onset, frame = more.logits(x)
    (onset.mean() + frame.mean()).backward()
    assert float(more.early[0].weight.grad[:, n_h:].abs().max()) > 0
    for harmonics in ([1.5] + list(DEFAULT_HARMONICS), list(DEFAULT_HARMONICS[:-1])):  # not appended
        with pytest.raises(ParameterError, match="architecture differs"):
            _load_initial_weights(BasicAMT(BasicAMTConfig.from_dict({**TINY, "harmonics": harmonics})), stem)


def test_init_may_give_the_onset_branch_its_own_spectral_view(trained):
    """Growing ``onset_spectral_channels`` from 0: a fresh spectral conv whose channels the onset
    branch ignores at first (zero weights), so the grown model computes what the saved one did;
    those weights get a gradient, and once they move the onset posterior does."""
    from septimbre.basicamt.network import BasicAMT, BasicAMTConfig
    from septimbre.basicamt.train import _load_initial_weights
    from septimbre.utils.errors import ParameterError

    _, _, _, result = trained
    stem = result.out_dir / "basicamt"
    source, _ = load_model(stem)
    grown = BasicAMT(BasicAMTConfig.from_dict({**TINY, "onset_spectral_channels": 3, "onset_spectral_kernel": [3, 5]}))
    _load_initial_weights(grown, stem)
    cn = TINY["neck_channels"]
    w, src_w = grown.onset_hidden[0].weight.detach(), source.onset_hidden[0].weight.detach()
    assert w.shape[1] == cn + 3 + 1
    assert float(w[:, cn:cn + 3].abs().max()) == 0.0
    torch.testing.assert_close(w[:, :cn], src_w[:, :cn], rtol=0, atol=0)
    torch.testing.assert_close(w[:, -1], src_w[:, -1], rtol=0, atol=0)
    x, (o0, f0), (o1, f1) = eval_outputs(source, grown, seed=8, batch=2)
    torch.testing.assert_close(f1, f0, rtol=0, atol=1e-6)
    torch.testing.assert_close(o1, o0, rtol=0, atol=1e-6)
    grown.train()
    onset, _ = grown.logits(x)
    onset.mean().backward()
    assert float(grown.onset_hidden[0].weight.grad[:, cn:cn + 3].abs().max()) > 0
    with torch.no_grad():
        grown.eval()
        grown.onset_hidden[0].weight[:, cn:cn + 3] = 0.5
        assert float((grown(x)[0] - o0).abs().max()) > 1e-3
    # a saved spectral view keeps its kernel: another one is a different architecture
    from septimbre.model.io import save_model
    save_model(grown, None, result.out_dir / "grown")
    other = BasicAMT(BasicAMTConfig.from_dict({**TINY, "onset_spectral_channels": 3, "onset_spectral_kernel": [5, 5]}))
    with pytest.raises(ParameterError, match="architecture differs"):
        _load_initial_weights(other, result.out_dir / "grown")
    wider = BasicAMT(BasicAMTConfig.from_dict({**TINY, "onset_spectral_channels": 5, "onset_spectral_kernel": [3, 5]}))
    _load_initial_weights(wider, result.out_dir / "grown")  # more spectral channels: ignored at first
    wider.eval()
    with torch.no_grad():
        torch.testing.assert_close(wider(x)[0], grown(x)[0], rtol=0, atol=1e-6)


def test_train_only_trains_the_named_modules_and_keeps_the_rest(trained, tmp_path):
    """``train_only``: the named modules learn; every other tensor, BatchNorm statistics included,
    ends bit-identical to the starting weights; an unknown name is an error."""
    from septimbre.utils.errors import ParameterError

    _, val, _, result = trained
    stem = result.out_dir / "basicamt"
    start = {k: v.clone() for k, v in load_model(stem)[0].state_dict().items()}
    cfg = tiny_config(max_steps=6, val_every_steps=3, train_only=("onset_hidden", "onset_head"))
    out = train(cfg, ToneDataset(24, clip_seconds=1.0, seed=5), val, tmp_path / "only", init_from=stem,
                progress=False)
    end = load_model(out.out_dir / "basicamt")[0].state_dict()
    moved = {k for k in start if not torch.equal(start[k], end[k])}
    assert moved and all(k.startswith(("onset_hidden.", "onset_head.")) for k in moved)
    assert "onset_head.weight" in moved and "onset_hidden.1.running_mean" in moved
    with pytest.raises(ParameterError, match="no parameters under"):
        train(tiny_config(train_only=("onset_hiden",)), ToneDataset(8, clip_seconds=1.0, seed=5), None,
              tmp_path / "typo", progress=False)
    assert TrainConfig.from_dict({"train_only": ["neck"]}).train_only == ("neck",)


def test_widen_from_is_exact_without_new_blocks():
    from septimbre.basicamt.network import BasicAMT, BasicAMTConfig, widen_from
    from septimbre.utils.errors import ParameterError

    torch.manual_seed(0)
    narrow = BasicAMT(BasicAMTConfig.from_dict({**TINY, "time_blocks": 1})).eval()
    wide = BasicAMT(BasicAMTConfig.from_dict({"early_channels": 8, "neck_channels": 6, "onset_channels": 5,
                                              "time_blocks": 1})).eval()
    with torch.no_grad():  # give the BatchNorms non-trivial statistics, as after training
        for m in narrow.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0), m.bias.uniform_(-0.2, 0.2)
    assert widen_from(wide, narrow) == []
    x = 0.1 * torch.randn(1, 11025, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        for a, b in zip(narrow(x), wide(x)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ParameterError, match="does not fit"):
        widen_from(narrow, wide)


def test_init_may_grow_a_block_with_its_own_dilation_but_keeps_the_old_ones(trained, tmp_path):
    from septimbre.basicamt.network import BasicAMT, BasicAMTConfig
    from septimbre.basicamt.train import _load_initial_weights
    from septimbre.model.io import save_model
    from septimbre.utils.errors import ParameterError

    one = BasicAMT(BasicAMTConfig.from_dict({**TINY, "time_blocks": 1, "time_dilation": 3}))
    save_model(one, None, tmp_path / "one")
    wide = BasicAMT(BasicAMTConfig.from_dict({**TINY, "time_blocks": 2, "time_dilations": [3, 9]}))
    _load_initial_weights(wide, tmp_path / "one")  # block 0 as saved, block 1 new and wider
    torch.testing.assert_close(wide.time_context[0][1][0].weight, one.time_context[0][1][0].weight, rtol=0, atol=0)
    assert wide.time_context[1][1][0].dilation == (1, 9)
    with pytest.raises(ParameterError, match="architecture differs"):  # the saved block's dilation changed
        _load_initial_weights(BasicAMT(BasicAMTConfig.from_dict({**TINY, "time_blocks": 2, "time_dilations": [9, 9]})),
                              tmp_path / "one")
    with pytest.raises(ParameterError, match="architecture differs"):  # fewer blocks than saved
        _load_initial_weights(BasicAMT(BasicAMTConfig.from_dict(TINY)), tmp_path / "one")


def test_rolls_to_notes_keeps_same_pitch_notes_of_two_instruments():
    import numpy as np

    rolls = np.zeros((2, 84, 20), np.uint8)
    rolls[0, 10, 2:8] = 1
    rolls[0, 10, 2] = 2  # instrument 0: note at frames 2..8
    rolls[1, 10, 5:12] = 1
    rolls[1, 10, 5] = 2  # instrument 1: same pitch, overlapping, frames 5..12
    rolls[0, 10, 8:10] = 1  # instrument 0 sustains on: same note, now frames 2..10
    notes = rolls_to_notes(rolls)
    assert len(notes) == 2
    assert sorted(notes[:, 2].tolist()) == [34.0, 34.0]
    assert sorted(np.round(notes[:, 1] * 22050 / 256).tolist()) == [10.0, 12.0]


@pytest.mark.parametrize("bf16, native, warned", [(True, False, True), (True, True, False), (False, False, False)])
def test_bf16_on_a_cpu_without_it_is_warned_about(monkeypatch, caplog, tmp_path, bf16, native, warned):
    import septimbre.basicamt.train as train_mod

    monkeypatch.setattr(train_mod, "native_bf16", lambda: native)
    with caplog.at_level("WARNING", logger=train_mod.logger.name):
        train(tiny_config(max_steps=1, bf16=bf16), ToneDataset(4, clip_seconds=0.5, seed=1), None, tmp_path,
              progress=False)
    assert any("bf16" in r.getMessage() for r in caplog.records) == warned


@pytest.mark.parametrize("precision, native, config_bf16, expected", [
    ("auto", False, True, False),  # emulated bf16 would be ~5x slower than fp32: train in fp32
    ("auto", True, True, True),
    ("auto", False, False, False),
    ("config", False, True, True),
    ("fp32", True, True, False),
    ("bf16", False, False, True),
])
def test_precision_choice_resolves_against_the_cpu(precision, native, config_bf16, expected):
    from septimbre.basicamt.train import resolve_precision

    cfg = tiny_config(bf16=config_bf16, channels_last=True)
    got = resolve_precision(cfg, precision, native=native)
    assert got.bf16 is expected
    assert dataclasses.replace(got, bf16=cfg.bf16) == cfg  # nothing else changes


def test_unknown_precision_is_refused():
    from septimbre.basicamt.train import resolve_precision
    from septimbre.utils.errors import ParameterError

    with pytest.raises(ParameterError, match="precision"):
        resolve_precision(tiny_config(), "fp16", native=True)


def test_train_command_trains_in_fp32_where_bf16_is_emulated_and_records_it(monkeypatch, tmp_path, caplog):
    import septimbre.basicamt.train as train_mod
    import septimbre.data.dataset as dataset_mod

    monkeypatch.setattr(train_mod, "native_bf16", lambda: False)
    monkeypatch.setattr(dataset_mod, "RenderedDataset",
                        lambda roots, clip_seconds, seed, **kw: ToneDataset(4, clip_seconds=0.5, seed=seed))
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**dataclasses.asdict(tiny_config(max_steps=1)), "bf16": True}))
    out = tmp_path / "run"
    with caplog.at_level("WARNING", logger=train_mod.logger.name):
        rc = train_mod.main(["--config", str(config), "--data", "unused", "--out", str(out), "--no-progress"])
    assert rc == 0
    used = json.loads((out / "train_config.json").read_text())
    assert used["bf16"] is False
    assert used["provenance"]["precision"] == {"requested": "auto", "config_bf16": True, "bf16": False,
                                               "native_bf16": False}
    assert json.loads((out / "basicamt.json").read_text())["training"]["precision"]["bf16"] is False
    assert any("fp32 instead" in r.getMessage() for r in caplog.records)


def test_bench_times_every_mode_of_the_shipped_network(capsys):
    from septimbre.basicamt.bench import main as bench_main
    from septimbre.inference import DEFAULT_MODEL, WEIGHTS_DIR
    from septimbre.model.io import read_description

    # The default step is train_scratch's: the shipped network with the one-command loss recipe.
    assert bench_main(["--rounds", "1", "--batch", "1", "--seconds", "0.5", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    n_shipped = read_description(WEIGHTS_DIR / DEFAULT_MODEL)["n_parameters"]
    assert out.startswith(f"train_scratch ({n_shipped:,} parameters), batch 1 x 0.5 s")
    assert "native bf16: " in out
    modes = [line.split(":")[0].strip() for line in out.splitlines()[1:]]
    assert modes == ["fp32", "fp32+channels_last", "bf16", "bf16+channels_last"]


def test_forcing_fp32_on_a_cpu_with_native_bf16_is_not_blamed_on_the_cpu(monkeypatch, tmp_path, caplog):
    import septimbre.basicamt.train as train_mod
    import septimbre.data.dataset as dataset_mod

    monkeypatch.setattr(train_mod, "native_bf16", lambda: True)
    monkeypatch.setattr(dataset_mod, "RenderedDataset",
                        lambda roots, clip_seconds, seed, **kw: ToneDataset(4, clip_seconds=0.5, seed=seed))
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**dataclasses.asdict(tiny_config(max_steps=1)), "bf16": True}))
    out = tmp_path / "run"
    with caplog.at_level("WARNING", logger=train_mod.logger.name):
        rc = train_mod.main(["--config", str(config), "--data", "unused", "--out", str(out), "--no-progress",
                             "--precision", "fp32"])
    assert rc == 0
    assert json.loads((out / "train_config.json").read_text())["bf16"] is False
    assert not any("no native bf16" in r.getMessage() for r in caplog.records)



def test_compiled_step_computes_the_eager_loss_gradients_and_statistics():
    # step_loss_fn(..., compiled=True) runs the same objective through torch.compile: equal loss
    # terms, gradients and BatchNorm running statistics up to float rounding.
    import copy

    from septimbre.basicamt.train import _build_model, step_loss_fn

    torch.set_num_threads(1)
    torch.manual_seed(0)
    eager_model = _build_model(tiny_config()).train()
    compiled_model = copy.deepcopy(eager_model)
    g = torch.Generator().manual_seed(1)
    audio = 0.1 * torch.randn(2, 40 * 256, generator=g)
    onset = (torch.rand(2, 84, 40, generator=g) > 0.95).float()
    frame = (torch.rand(2, 84, 40, generator=g) > 0.8).float()
    kwargs = {"leak_weight": 10.0, "reattack_weight": 4.0, "onset_spread": 0.5}
    losses = {}
    for name, model in (("eager", eager_model), ("compiled", compiled_model)):
        losses[name] = step_loss_fn(model, bf16=False, compiled=name == "compiled", loss_kwargs=kwargs)(
            audio, onset, frame)
        losses[name].total.backward()
    for term in ("total", "frame", "onset"):
        torch.testing.assert_close(getattr(losses["compiled"], term), getattr(losses["eager"], term),
                                   rtol=1e-5, atol=0)
    for (name, p), q in zip(eager_model.named_parameters(), compiled_model.parameters()):
        scale = float(p.grad.abs().max())
        assert scale > 0, name
        # A one-element parameter (the energy normalisation's scale and bias) sums its gradient over
        # every element of the batch, where the two graphs' different summation orders cancel
        # differently: 1.01e-4 of the gradient was measured on an AVX-512 host, so it gets 1e-3.
        relative = 1e-3 if p.numel() == 1 else 1e-4
        torch.testing.assert_close(q.grad, p.grad, rtol=0, atol=relative * scale, msg=name)
    updated = 0
    for (name, a), b in zip(eager_model.named_buffers(), compiled_model.buffers()):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=name)
        updated += name.endswith("running_mean") and bool(a.abs().max() > 0)
    assert updated  # the statistics moved in the step, in both models alike


def test_train_command_compile_flag_reaches_the_step_and_is_recorded(monkeypatch, tmp_path):
    import septimbre.basicamt.train as train_mod
    import septimbre.data.dataset as dataset_mod

    asked = []
    eager = train_mod.step_loss_fn

    def spy(model, **kw):
        asked.append(kw["compiled"])
        return eager(model, **{**kw, "compiled": False})  # compiling itself is the test above

    monkeypatch.setattr(train_mod, "step_loss_fn", spy)
    monkeypatch.setattr(dataset_mod, "RenderedDataset",
                        lambda roots, clip_seconds, seed, **kw: ToneDataset(4, clip_seconds=0.5, seed=seed))
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**dataclasses.asdict(tiny_config(max_steps=1)), "bf16": False}))
    for extra in ([], ["--compile"]):
        out = tmp_path / f"run{len(extra)}"
        assert train_mod.main(["--config", str(config), "--data", "unused", "--out", str(out),
                               "--no-progress", *extra]) == 0
        assert json.loads((out / "train_config.json").read_text())["provenance"]["compiled"] is bool(extra)
        assert json.loads((out / "basicamt.json").read_text())["training"]["compiled"] is bool(extra)
    assert asked == [False, True]

def test_bench_compile_adds_compiled_modes_where_they_can_run(monkeypatch, capsys):
    # Only the mode list is checked here (compiling is the test above): compiled fp32 modes always,
    # compiled bf16 modes only where bf16 is native.
    import septimbre.basicamt.train as train_mod
    from septimbre.basicamt.bench import main as bench_main

    eager = train_mod.step_loss_fn
    monkeypatch.setattr(train_mod, "step_loss_fn", lambda model, **kw: eager(model, **{**kw, "compiled": False}))
    for native, extra in ((False, []), (True, ["compiled bf16", "compiled bf16+channels_last"])):
        monkeypatch.setattr(train_mod, "native_bf16", lambda native=native: native)
        assert bench_main(["--rounds", "1", "--seconds", "0.25", "--threads", "1", "--compile",
                           "--config", "train_scratch_short"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].startswith("train_scratch_short (13,572 parameters), batch 16 x 0.25 s")  # config's batch
        modes = [line.split(":")[0].strip() for line in lines[1:]]
        assert modes == ["fp32", "fp32+channels_last", "bf16", "bf16+channels_last",
                         "compiled fp32", "compiled fp32+channels_last", *extra]


def test_compile_without_a_cpp_compiler_is_a_clear_error(monkeypatch):
    import septimbre.basicamt.train as train_mod
    from septimbre.basicamt.train import _build_model, step_loss_fn
    from septimbre.utils.errors import MissingResourceError

    monkeypatch.setattr(train_mod.shutil, "which", lambda name: None)
    with pytest.raises(MissingResourceError, match="C\\+\\+ compiler"):
        step_loss_fn(_build_model(tiny_config()), bf16=False, compiled=True)
    step_loss_fn(_build_model(tiny_config()), bf16=False)  # eager steps need none


def test_weight_average_leaves_training_alone_and_is_saved_as_the_model(tmp_path):
    """ema_decay keeps an average beside training: the trained weights are bit-identical to a run
    without it (saved as basicamt_raw), the saved model is the average, and a resumed run ends with
    the same average as an uninterrupted one."""
    def data():
        return ToneDataset(10, clip_seconds=0.5, seed=1)

    plain = tiny_config(max_steps=8)
    averaged = tiny_config(max_steps=8, ema_decay=0.5)
    train(plain, data(), None, tmp_path / "plain", progress=False)
    train(averaged, data(), None, tmp_path / "ema", progress=False)
    train(averaged, data(), None, tmp_path / "resumed", progress=False, max_steps=3)
    train(averaged, data(), None, tmp_path / "resumed", progress=False, resume=True)
    raw, _ = load_model(tmp_path / "ema" / "basicamt_raw")
    ref, _ = load_model(tmp_path / "plain" / "basicamt")
    avg, desc = load_model(tmp_path / "ema" / "basicamt")
    assert desc["training"]["weights"] == "EMA 0.5"
    assert not (tmp_path / "plain" / "basicamt_raw.pt").exists()
    ck = torch.load(tmp_path / "ema" / "checkpoint.pt", weights_only=True)
    ck_resumed = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)
    changed = 0
    for key, value in ref.state_dict().items():
        torch.testing.assert_close(raw.state_dict()[key], value, rtol=0, atol=0)
        torch.testing.assert_close(avg.state_dict()[key], ck["ema"][key].to(value.dtype), rtol=0, atol=0)
        torch.testing.assert_close(ck_resumed["ema"][key], ck["ema"][key], rtol=0, atol=0)
        changed += value.is_floating_point() and not torch.equal(avg.state_dict()[key], value)
    assert changed > 0  # the average is not the last weights


def test_ema_update_is_the_exponential_average_with_a_ramped_decay():
    from septimbre.model.ema import EMA_RAMP_STEPS, ema_decay_at, ema_start, ema_update
    from septimbre.utils.errors import ParameterError

    lin = torch.nn.Linear(2, 1)
    bn = torch.nn.BatchNorm1d(1)
    net = torch.nn.Sequential(lin, bn)
    average = ema_start(net)
    w0 = lin.weight.detach().clone()
    with torch.no_grad():
        lin.weight.add_(1.0)
        bn.num_batches_tracked.fill_(7)
    ema_update(average, net, 0.75)
    torch.testing.assert_close(average["0.weight"], w0 + 0.25)
    assert int(average["1.num_batches_tracked"]) == 7
    assert ema_decay_at(1, 0.999) == pytest.approx(2 / (EMA_RAMP_STEPS + 1))
    assert ema_decay_at(100_000, 0.999) == 0.999
    with pytest.raises(ParameterError):
        ema_update(average, lin, 0.5)
    with pytest.raises(ParameterError):
        ema_decay_at(1, 1.0)
    with pytest.raises(ParameterError):
        tiny_config(ema_decay=1.0)


def test_distillation_loss_is_cross_entropy_with_its_minimum_at_the_teachers_posterior():
    from septimbre.model.losses import distillation_loss

    g = torch.Generator().manual_seed(0)
    onset_logits, frame_logits = torch.randn(2, 84, 9, generator=g), torch.randn(2, 84, 9, generator=g)
    t_onset, t_frame = torch.rand(2, 84, 9, generator=g), torch.rand(2, 84, 9, generator=g)

    def bce(z, t):  # by hand
        p = torch.sigmoid(z)
        return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()

    torch.testing.assert_close(distillation_loss(onset_logits, frame_logits, t_onset, t_frame),
                               bce(frame_logits, t_frame) + bce(onset_logits, t_onset))
    # for a soft target of 0.5 (or 0.1) the best student output is that probability itself
    for target in (0.5, 0.1):
        t = torch.full((1, 84, 1), target)
        z = torch.linspace(-6, 6, 1201).reshape(1, 1, -1).expand(1, 84, -1)
        per_z = [float(distillation_loss(z[..., i:i + 1], z[..., i:i + 1], t, t)) for i in range(z.shape[-1])]
        best = float(torch.sigmoid(z[0, 0, int(torch.tensor(per_z).argmin())]))
        assert abs(best - target) < 0.01


def test_teachers_and_distill_weight_go_together():
    from septimbre.utils.errors import ParameterError

    for bad in (dict(teachers=("runs/x/basicamt",)), dict(distill_weight=1.0),
                dict(teachers=("runs/x/basicamt",), distill_weight=-1.0)):
        with pytest.raises(ParameterError, match="distill_weight"):
            tiny_config(**bad)
    cfg = TrainConfig.from_dict({"teachers": ["a/basicamt", "b/basicamt"], "distill_weight": 0.5})
    assert cfg.teachers == ("a/basicamt", "b/basicamt")


def test_step_objective_adds_the_weighted_distillation_term(trained):
    # The teachers' mean posterior is the soft target; frame/onset stay against the labels.
    from septimbre.basicamt.train import _build_model, load_teachers, step_loss_fn
    from septimbre.model.losses import distillation_loss

    torch.manual_seed(0)
    stem = str(trained[3].out_dir / "basicamt")
    student = _build_model(tiny_config()).train()
    teachers = load_teachers(tiny_config(teachers=(stem, stem), distill_weight=0.25))
    assert len(teachers) == 2 and not teachers[0].training
    assert not any(p.requires_grad for p in teachers[0].parameters())
    g = torch.Generator().manual_seed(1)
    audio = 0.1 * torch.randn(2, 40 * 256, generator=g)
    onset = (torch.rand(2, 84, 40, generator=g) > 0.95).float()
    frame = (torch.rand(2, 84, 40, generator=g) > 0.8).float()
    plain = step_loss_fn(student, bf16=False)(audio, onset, frame)
    mixed = step_loss_fn(student, bf16=False, teachers=teachers, distill_weight=0.25)(audio, onset, frame)
    assert plain.distill is None
    with torch.no_grad():
        t_onset, t_frame = (torch.sigmoid(x) for x in teachers[0].logits(audio))
        s_onset, s_frame = student.logits(audio)
    torch.testing.assert_close(mixed.distill, distillation_loss(s_onset, s_frame, t_onset, t_frame))
    torch.testing.assert_close(mixed.total, plain.total + 0.25 * mixed.distill)
    torch.testing.assert_close(mixed.frame, plain.frame)
    mixed.total.backward()
    assert all(p.grad is None for p in teachers[0].parameters())


def test_training_with_a_teacher_logs_the_distillation_loss(trained, tmp_path):
    from septimbre.utils.errors import MissingResourceError

    stem = str(trained[3].out_dir / "basicamt")
    cfg = tiny_config(max_steps=10, teachers=(stem,), distill_weight=1.0)
    train(cfg, ToneDataset(16, clip_seconds=0.5, seed=4), None, tmp_path / "student", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "student" / "log.jsonl").read_text().splitlines()]
    distill = [r["distill_loss"] for r in rows if r["kind"] == "train"]
    assert len(distill) == 2 and all(d > 0 for d in distill)
    _, desc = load_model(tmp_path / "student" / "basicamt")
    assert desc["training"]["config"]["teachers"] == [stem]
    with pytest.raises(MissingResourceError, match="teacher"):
        train(dataclasses.replace(cfg, teachers=(str(tmp_path / "nowhere" / "basicamt"),)),
              ToneDataset(16, clip_seconds=0.5, seed=4), None, tmp_path / "bad", progress=False)
