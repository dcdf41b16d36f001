"""Tests of the synthetic data engine (septimbre.data): targets, rendering alignment,
determinism, shapes, build + dataset crops, errors. Needs FluidSynth + TimGM6mb
(Debian: fluidsynth timgm6mb-soundfont); skipped with a reason where they are absent."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from septimbre.data.config import DataConfig
from septimbre.data.notes import ScoreNote, random_line, sanitize
from septimbre.data.performance import BEND_RANGE_SEMITONES, MAX_BEND_CENTS, ControlEvent, control_curves
from septimbre.data.soundfonts import SOUNDFONTS, find_soundfont
from septimbre.data.targets import ONSET, SUSTAIN, notes_to_roll, roll_to_notes
from septimbre.utils.constants import (
    FRAME_RATE,
    HOP_LENGTH,
    MIDI_MAX,
    MIDI_MIN,
    N_PITCHES,
    SAMPLE_RATE,
    midi_to_hz,
    n_frames,
)
from septimbre.utils.errors import MissingResourceError, ParameterError

fluidsynth = pytest.importorskip("fluidsynth", reason="pyfluidsynth (septimbre[train]) not installed")
try:
    TIM = find_soundfont("TimGM6mb")
except MissingResourceError as exc:  # pragma: no cover - CI installs timgm6mb-soundfont
    pytest.skip(f"needs the TimGM6mb soundfont: {exc}", allow_module_level=True)


def tiny_config(**kw) -> DataConfig:
    """A fast split: TimGM6mb only, 2-3 s examples, piano, violin, trumpet, clarinet, flute."""
    base = dict(
        name="test",
        seed=7,
        soundfonts={"TimGM6mb": {"programs": [0, 40, 56, 71, 73]}},
        duration_s=[2.0, 3.0],
        score_ratio=0.0,
    )
    base.update(kw)
    return DataConfig(**base)


# ---------------------------------------------------------------- targets


def test_roll_marks_onset_then_sustain_until_offset_exclusive():
    # 0.5 s -> frame round(43.07) = 43; 1.0 s -> frame 86 (exclusive).
    roll = notes_to_roll([ScoreNote(0.5, 1.0, 60)], n_frames=200)
    row = roll[60 - MIDI_MIN]
    assert roll.shape == (N_PITCHES, 200) and roll.dtype == np.uint8
    assert row[43] == ONSET and row[42] == 0
    assert np.all(row[44:86] == SUSTAIN) and row[86] == 0
    assert roll.sum() == row.sum()  # no other pitch touched


def test_roll_reattack_and_tiny_note_and_out_of_range():
    notes = [
        ScoreNote(0.0, 0.5, 64),
        ScoreNote(0.5, 0.8, 64),  # re-attack: onset inside sustain
        ScoreNote(1.0, 1.001, 70),  # shorter than a frame: still its onset frame
        ScoreNote(0.2, 0.4, MIDI_MIN - 1),
        ScoreNote(0.2, 0.4, MIDI_MAX + 1),
    ]
    roll = notes_to_roll(notes, n_frames=120)
    r = roll[64 - MIDI_MIN]
    assert r[0] == ONSET and r[43] == ONSET and r[42] == SUSTAIN and r[69] == 0
    assert roll[70 - MIDI_MIN, 86] == ONSET and roll[70 - MIDI_MIN].sum() == ONSET
    assert roll.sum() == r.sum() + ONSET  # out-of-range pitches ignored
    assert [(round(s * FRAME_RATE), p) for s, _, p in roll_to_notes(roll)] == [(0, 64), (43, 64), (86, 70)]


def test_sanitize_never_holds_a_key_twice():
    notes = [
        ScoreNote(0.0, 1.0, 60),
        ScoreNote(0.5, 1.5, 60),
        ScoreNote(0.5, 0.9, 60),
        ScoreNote(0.2, 0.6, 99),
    ]
    out = sanitize(notes, low=40, high=90, duration_s=1.2)
    assert [(n.start_s, n.end_s, n.pitch) for n in out] == [(0.0, 0.5, 60), (0.5, 1.2, 60)]


# ---------------------------------------------------------------- note material and performance


def test_random_lines_cover_every_pitch_of_a_range_and_use_chords():
    rng = np.random.default_rng(0)
    seen, intervals = set(), []
    for _ in range(60):
        line = random_line(
            rng,
            low=48,
            high=72,
            duration_s=6.0,
            beat_s=0.4,
            polyphonic=True,
            chord_prob=0.5,
            rest_prob=0.05,
            repeat_prob=0.1,
            legato_prob=0.0,
            step_scale=3.0,
        )
        seen |= {n.pitch for n in line}
        by_start: dict[float, list[int]] = {}
        for n in line:
            by_start.setdefault(round(n.start_s, 3), []).append(n.pitch)
        intervals += [b - a for ps in by_start.values() for a, b in zip(sorted(ps), sorted(ps)[1:])]
    assert seen == set(range(48, 73))
    assert {4, 5, 7, 12} <= set(intervals)


def test_pitch_bends_stay_below_a_quarter_tone():
    ev = control_curves(
        np.random.default_rng(1),
        duration_s=3.0,
        vibrato_cents=200.0,
        vibrato_hz=6.0,
        wobble_cents=100.0,
        swell_depth=0.5,
        expression=127,
    )
    bends = [e.value for e in ev if e.kind == "bend"]
    assert bends and max(abs(b) for b in bends) / 8192 * BEND_RANGE_SEMITONES * 100 <= MAX_BEND_CENTS + 0.1
    assert MAX_BEND_CENTS < 50
    assert all(0 <= e.value <= 127 for e in ev if e.kind == "cc")


def _bend_cents(events) -> np.ndarray:
    return np.array([e.value for e in events if e.kind == "bend"]) / 8192 * BEND_RANGE_SEMITONES * 100


def test_detune_is_one_constant_bend_and_shifts_a_vibrato_curve():
    common = dict(duration_s=2.0, vibrato_hz=5.0, swell_depth=0.0, expression=127)
    only = control_curves(np.random.default_rng(3), vibrato_cents=0.0, wobble_cents=0.0, detune_cents=-12.0, **common)
    assert [(e.time_s, e.kind) for e in only if e.kind == "bend"] == [(0.0, "bend")]
    assert _bend_cents(only)[0] == pytest.approx(-12.0, abs=0.03)
    # With vibrato, the same random draws: the curve moves by the detune (events only where it changes).
    plain = control_curves(np.random.default_rng(3), vibrato_cents=20.0, wobble_cents=5.0, **common)
    moved = control_curves(np.random.default_rng(3), vibrato_cents=20.0, wobble_cents=5.0, detune_cents=8.0, **common)
    assert _bend_cents(moved).mean() - _bend_cents(plain).mean() == pytest.approx(8.0, abs=1.0)


def test_detune_out_of_range_is_rejected():
    with pytest.raises(ParameterError, match="detune_cents"):
        tiny_config(performance={"detune_cents": MAX_BEND_CENTS})
    with pytest.raises(ParameterError, match="detune_cents"):
        tiny_config(performance={"detune_cents": -5.0})


# ---------------------------------------------------------------- rendering


def test_rendered_energy_onsets_within_one_frame_of_midi_onsets():
    from septimbre.data.render import render_stem

    onsets = [0.25, 0.93, 1.61, 2.3]
    pitches = [48, 60, 67, 79]
    for program in (0, 56):  # piano and trumpet (a slower attack)
        notes = [ScoreNote(t, t + 0.35, p, 100) for t, p in zip(onsets, pitches)]
        audio = render_stem(notes, soundfont=TIM, program=program, n_samples=int(3.0 * SAMPLE_RATE))
        for t, p in zip(onsets, pitches):
            # Energy at the note's fundamental in 512-sample windows centred on each frame.
            f0 = midi_to_hz(p)
            frames = np.arange(int((t - 0.2) * FRAME_RATE), int((t + 0.2) * FRAME_RATE))
            win = np.hanning(512)
            k = np.exp(-2j * np.pi * f0 * np.arange(512) / SAMPLE_RATE)
            energy = np.array(
                [abs(np.sum(win * k * audio[f * HOP_LENGTH - 256 : f * HOP_LENGTH + 256])) for f in frames]
            )
            first = frames[np.argmax(energy > 0.1 * energy.max())]  # -20 dB: start of the attack
            assert abs(first - round(t * FRAME_RATE)) <= 1, (program, p, first, t * FRAME_RATE)


def test_missing_soundfont_error_names_the_debian_package(tmp_path):
    for key, spec in SOUNDFONTS.items():
        with pytest.raises(MissingResourceError, match=spec.debian_package):
            find_soundfont(key, search_dirs=[tmp_path])
    assert SOUNDFONTS["FluidR3_GM"].debian_package == "fluid-soundfont-gm"
    assert SOUNDFONTS["TimGM6mb"].debian_package == "timgm6mb-soundfont"


def test_musescore_key_prefers_the_lite_file_the_splits_were_built_from(tmp_path):
    # With the HQ package installed, MuseScore_General.sf3 names a different sample set.
    for name in ("MuseScore_General.sf3", "MuseScore_General_Lite.sf3"):
        (tmp_path / name).write_bytes(b"sf3")
    assert find_soundfont("MuseScore_General", search_dirs=[tmp_path]).name == "MuseScore_General_Lite.sf3"
    (tmp_path / "MuseScore_General_Lite.sf3").unlink()
    assert find_soundfont("MuseScore_General", search_dirs=[tmp_path]).name == "MuseScore_General.sf3"


def test_config_with_unknown_soundfont_or_unusable_program_is_rejected():
    with pytest.raises(ParameterError):
        tiny_config(soundfonts={"NoSuchFont": {"programs": [0]}})
    with pytest.raises(ParameterError):
        tiny_config(soundfonts={"TimGM6mb": {"programs": [0, 118]}})  # synth drum


# ---------------------------------------------------------------- examples


def test_example_is_a_pure_function_of_seed_and_index():
    from septimbre.data.example import make_example

    cfg = tiny_config()
    a, b = make_example(cfg, 3), make_example(cfg, 3)
    for k in ("mix", "stems", "rolls", "programs"):
        assert getattr(a, k).tobytes() == getattr(b, k).tobytes()
    assert a.meta == b.meta
    c = make_example(cfg, 4)
    assert c.mix.shape != a.mix.shape or not np.array_equal(c.mix, a.mix)
    d = make_example(tiny_config(seed=8), 3)
    assert d.mix.shape != a.mix.shape or not np.array_equal(d.mix, a.mix)


def test_example_shapes_ranges_and_mixture():
    from septimbre.data.example import make_example
    from septimbre.data.programs import program_info

    cfg = tiny_config(room={"noise_prob": 0.0})
    for index in range(3):
        ex = make_example(cfg, index)
        n_inst, samples = ex.stems.shape
        assert ex.mix.shape == (samples,) and samples == round(ex.meta["duration_s"] * SAMPLE_RATE)
        assert (
            ex.rolls.shape
            == (n_inst, N_PITCHES, n_frames(samples))
            == (n_inst, N_PITCHES, -(-samples // HOP_LENGTH))
        )
        assert ex.rolls.dtype == np.uint8 and set(np.unique(ex.rolls)) <= {0, 1, 2}
        assert ex.programs.dtype == np.int16 and 1 <= n_inst <= 4
        np.testing.assert_allclose(ex.mix, ex.stems.sum(axis=0), atol=1e-5)  # no noise configured
        for k in range(n_inst):
            info = program_info(int(ex.programs[k]))
            rows = np.nonzero(ex.rolls[k].any(axis=1))[0] + MIDI_MIN
            assert rows.size and info.low <= rows.min() and rows.max() <= info.high
            # The roll is exactly the notes' roll.
            assert np.array_equal(ex.rolls[k], notes_to_roll(ex.notes[k], n_frames=ex.rolls.shape[2]))
            assert np.abs(ex.stems[k]).max() > 0


def test_extending_a_hard_linked_copy_leaves_the_original_split_as_it_was(tmp_path):
    from septimbre.data.build import MANIFEST, build, read_manifest

    small, big = tmp_path / "small", tmp_path / "big"
    build(tiny_config(), small, hours=2.0 / 3600, workers=1, progress=False)
    before = (small / MANIFEST).read_text()
    n_small = len(read_manifest(small))
    shutil.copytree(small, big, copy_function=os.link)  # cp -al small big
    res = build(tiny_config(), big, hours=5.0 / 3600, workers=1, progress=False)
    assert res.skipped == n_small and res.written >= 1
    assert len(read_manifest(big)) == n_small + res.written
    assert (small / MANIFEST).read_text() == before
    assert len(list((small / "examples").iterdir())) == n_small


def test_build_then_dataset_crops_are_aligned(tmp_path):
    torch = pytest.importorskip("torch")
    from septimbre.data.build import build, read_manifest
    from septimbre.data.dataset import RenderedDataset

    cfg = tiny_config()
    res = build(cfg, tmp_path, hours=4.0 / 3600, workers=1, progress=False)
    recs = read_manifest(tmp_path)
    assert res.written == len(recs) >= 2 and [r["index"] for r in recs] == list(range(len(recs)))
    assert json.loads((tmp_path / "config.json").read_text())["seed"] == cfg.seed
    again = build(cfg, tmp_path, hours=4.0 / 3600, workers=1, progress=False)  # resumes: nothing to do
    assert again.written == 0 and again.skipped == len(recs)
    # A cache written before a default existed (here: detune_cents) still resumes; another config does not.
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["performance"]["detune_cents"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert build(cfg, tmp_path, hours=4.0 / 3600, workers=1, progress=False).written == 0
    with pytest.raises(ParameterError, match="different config"):
        build(tiny_config(performance={"detune_cents": 5.0}), tmp_path, hours=4.0 / 3600, workers=1, progress=False)
    with np.load(tmp_path / recs[0]["file"]) as z:
        assert z["mix"].dtype == np.float16 and z["stems"].dtype == np.float16
        assert z["rolls"].dtype == np.uint8 and z["programs"].dtype == np.int16
        assert z["rolls"].shape[2] == -(-z["mix"].shape[0] // HOP_LENGTH)

    ds = RenderedDataset(tmp_path, clip_seconds=0.5, seed=3)
    assert ds.clip_samples % HOP_LENGTH == 0 and ds.clip_samples == ds.clip_frames * HOP_LENGTH
    for i in range(len(ds)):
        item = ds[i]
        full = ds.load(i)
        f0 = ds.crop_start(i, full["rolls"].shape[2])
        s0 = f0 * HOP_LENGTH
        assert item["audio"].dtype == torch.float32 and item["audio"].shape == (ds.clip_samples,)
        np.testing.assert_array_equal(
            item["audio"].numpy(), full["mix"][s0 : s0 + ds.clip_samples].astype(np.float32)
        )
        sl = full["rolls"][:, :, f0 : f0 + ds.clip_frames]
        n = sl.shape[0]
        np.testing.assert_array_equal(item["stem_rolls"][:n].numpy(), sl)
        assert item["stem_rolls"][n:].sum() == 0 and item["programs"][n:].eq(-1).all()
        np.testing.assert_array_equal(item["onset"].numpy(), (sl == ONSET).any(0).astype(np.float32))
        np.testing.assert_array_equal(item["frame"].numpy(), (sl > 0).any(0).astype(np.float32))
    ds.set_epoch(1)
    starts = {ds.crop_start(0, 10_000) for _ in range(2)}
    assert len(starts) == 1  # crops are reproducible within an epoch
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))
    assert batch["stem_rolls"].shape == (2, 4, N_PITCHES, ds.clip_frames)


def test_remixed_items_hold_two_examples_stems_at_new_levels_with_their_labels(tmp_path):
    torch = pytest.importorskip("torch")
    from septimbre.data.build import build
    from septimbre.data.dataset import RenderedDataset

    build(tiny_config(), tmp_path, hours=4.0 / 3600, workers=1, progress=False)
    plain = RenderedDataset(tmp_path, clip_seconds=0.5, seed=3, return_stems=True)
    assert all(plain.remix_partner(i) is None and plain.remixed(i) is None for i in range(len(plain)))
    ds = RenderedDataset(tmp_path, clip_seconds=0.5, seed=3, return_stems=True, remix_prob=1.0)
    for i in range(len(ds)):
        j, start = ds.remix_partner(i)
        assert j != i and 0 <= j < len(ds)
        item = ds[i]
        a, b = ds.crop(i, with_stems=True), ds.crop(j, with_stems=True, start_frame=start)
        n = int(item["n_instruments"])
        assert 2 <= n <= 4 and item["programs"][n:].eq(-1).all() and item["stem_rolls"][n:].sum() == 0
        # The mix is the remixed stems over example i's own noise ...
        noise = a.mix - a.stems.sum(0)
        np.testing.assert_allclose(item["audio"].numpy(), item["stems"][:n].sum(0).numpy() + noise, atol=1e-5)
        # ... each stem is a scaled stem of crop i or crop j, and its labels are that stem's.
        for k in range(n):
            row = item["stems"][k].numpy()
            found = [(src, m) for src in (a, b) for m in range(src.stems.shape[0])
                     if np.allclose(row, float(row @ src.stems[m]) / float(src.stems[m] @ src.stems[m] + 1e-30)
                                    * src.stems[m], atol=1e-5)
                     and np.array_equal(item["stem_rolls"][k].numpy(), src.rolls[m])]
            assert found, (i, k)
        sl = item["stem_rolls"][:n].numpy()
        np.testing.assert_array_equal(item["onset"].numpy(), (sl == ONSET).any(0).astype(np.float32))
        np.testing.assert_array_equal(item["frame"].numpy(), (sl > 0).any(0).astype(np.float32))
    # Reproducible within an epoch, redrawn in the next.
    assert ds.remix_partner(0) == ds.remix_partner(0)
    np.testing.assert_array_equal(ds[0]["audio"].numpy(), ds[0]["audio"].numpy())
    partners = set()
    for e in range(6):
        ds.set_epoch(e)
        partners.add(ds.remix_partner(0))
    assert len(partners) > 1
    with pytest.raises(ParameterError, match="remix_prob"):
        RenderedDataset(tmp_path, clip_seconds=0.5, remix_prob=1.5)
    assert torch.is_tensor(item["audio"])


def test_dataset_skips_examples_made_from_held_out_melodies(tmp_path):
    pytest.importorskip("torch")
    from septimbre.data.build import build
    from septimbre.data.dataset import RenderedDataset

    build(tiny_config(), tmp_path, hours=3.0 / 3600, workers=1, progress=False)
    manifest = tmp_path / "manifest.jsonl"
    recs = [json.loads(line) for line in manifest.read_text().splitlines()]
    recs[0]["score"] = "bach/bwv257.mxl"  # a re-harmonisation of held-out bwv256's melody
    manifest.write_text("".join(json.dumps(r) + "\n" for r in recs))
    ds = RenderedDataset(tmp_path, clip_seconds=0.5)
    assert len(ds) == len(recs) - 1 and recs[0]["index"] not in {r["index"] for r in ds.records}


def test_dataset_serves_several_splits_as_one(tmp_path):
    pytest.importorskip("torch")
    from septimbre.data.build import build
    from septimbre.data.dataset import RenderedDataset

    a, b = tmp_path / "a", tmp_path / "b"
    build(tiny_config(), a, hours=3.0 / 3600, workers=1, progress=False)
    build(tiny_config(seed=tiny_config().seed + 1), b, hours=3.0 / 3600, workers=1, progress=False)
    one_a, one_b = RenderedDataset(a, clip_seconds=0.5), RenderedDataset(b, clip_seconds=0.5)
    both = RenderedDataset([a, b], clip_seconds=0.5)
    assert len(both) == len(one_a) + len(one_b) and both.roots == (a, b)
    # Example indices restart in each folder; every item still comes from its own folder.
    for i in range(len(one_b)):
        np.testing.assert_array_equal(both.load(len(one_a) + i)["mix"], one_b.load(i)["mix"])
        assert not np.array_equal(both.load(len(one_a) + i)["mix"], one_a.load(min(i, len(one_a) - 1))["mix"])
    np.testing.assert_array_equal(both.load(0)["mix"], one_a.load(0)["mix"])
    with pytest.raises(ParameterError, match="twice"):
        RenderedDataset([a, tmp_path / "b" / ".." / "a"], clip_seconds=0.5)
    with pytest.raises(ParameterError, match="no split folder"):
        RenderedDataset([], clip_seconds=0.5)


def test_train_command_takes_several_data_folders():
    from septimbre.basicamt.train import build_parser

    args = build_parser().parse_args(["--config", "c.json", "--data", "x", "y", "--out", "r"])
    assert args.data == ["x", "y"]
    assert build_parser().parse_args(["--config", "c.json", "--data", "x", "--out", "r"]).data == ["x"]


# ---------------------------------------------------------------- body resonances


def test_body_eq_boosts_a_sine_at_a_peak_by_its_gain_and_leaves_far_ones():
    from septimbre.data.room import body_eq

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE  # 1 s: whole cycles of both sines
    peaks = np.array([[1000.0, 12.0, 10.0]])
    at_peak = body_eq(np.sin(2 * np.pi * 1000.0 * t), peaks)
    far = body_eq(np.sin(2 * np.pi * 100.0 * t), peaks)
    gain_db = 20 * np.log10(np.std(at_peak) / np.std(np.sin(2 * np.pi * 1000.0 * t)))
    assert gain_db == pytest.approx(12.0, abs=0.1)
    assert abs(20 * np.log10(np.std(far) / np.sqrt(0.5))) < 0.3


def test_body_eq_turns_vibrato_into_amplitude_modulation():
    from scipy.signal import hilbert
    from septimbre.data.room import body_eq

    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    f0, depth_cents, rate_hz = 880.0, 30.0, 5.0
    inst_f = f0 * 2 ** (depth_cents / 1200 * np.sin(2 * np.pi * rate_hz * t))
    tone = np.sin(2 * np.pi * np.cumsum(inst_f) / SAMPLE_RATE)
    body = np.array([[f0 * 2 ** (15 / 1200), 10.0, 30.0]])  # a sharp resonance on the upper swing

    def envelope_swing_db(x):
        env = np.abs(hilbert(x))[SAMPLE_RATE // 4:-SAMPLE_RATE // 4]
        return 20 * np.log10(env.max() / env.min())

    assert envelope_swing_db(tone) < 0.5  # pitch vibrato alone: flat amplitude
    assert envelope_swing_db(body_eq(tone, body)) > 4.0


def test_body_resonances_draw_within_the_configured_ranges():
    from septimbre.data.room import body_resonances

    rng = np.random.default_rng(0)
    for _ in range(20):
        p = body_resonances(rng, n_peaks=(3, 5), freq_hz=(200.0, 4000.0), gain_db=(-6.0, 12.0), q=(4.0, 40.0))
        assert 3 <= len(p) <= 5
        assert (p[:, 0] >= 200).all() and (p[:, 0] <= 4000).all()
        assert (p[:, 1] >= -6).all() and (p[:, 1] <= 12).all()
        assert (p[:, 2] >= 4).all() and (p[:, 2] <= 40).all()


def test_body_resonances_change_the_audio_but_not_the_notes_or_other_draws():
    from septimbre.data.example import make_example

    plain = make_example(tiny_config(), 2)
    body = make_example(tiny_config(room={"body_prob": 1.0}), 2)
    assert np.array_equal(plain.rolls, body.rolls) and plain.notes == body.notes
    strip = lambda m: [{k: v for k, v in i.items() if k != "body_peaks"} for i in m["instruments"]]
    assert strip(plain.meta) == strip(body.meta)  # same instruments, gains, vibrato: own random stream
    assert all(i["body_peaks"] == 0 for i in plain.meta["instruments"])
    assert all(i["body_peaks"] >= 6 for i in body.meta["instruments"])
    assert not np.allclose(plain.stems, body.stems)


def test_training_splits_never_share_a_seed_with_val_or_unseen():
    # Examples are a pure function of (seed, index): a shared seed would repeat test material.
    from septimbre.data.config import CONFIG_DIR

    seeds = {p.stem: DataConfig.from_json(p).seed for p in CONFIG_DIR.glob("*.json")}
    evaluation = [name for name in seeds if not name.startswith("train")]
    assert {"val", "unseen", "val_real"} <= set(evaluation)
    held = {seeds[name] for name in evaluation}
    assert len(held) == len(evaluation)
    for name, seed in seeds.items():
        if name.startswith("train"):
            assert seed not in held, name


# ---------------------------------------------------------------- mono legato


def test_mono_legato_holds_slurred_notes_to_the_next_onset_and_keeps_articulations():
    from septimbre.data.performance import mono_legato

    line = [
        ScoreNote(0.0, 0.55, 60, 90),  # overlaps the next: cut at its onset
        ScoreNote(0.5, 0.95, 62, 90),  # 50 ms before another pitch: joined when join_gap_s >= 0.05
        ScoreNote(1.0, 1.3, 64, 90),  # same pitch next, 200 ms later: left as is
        ScoreNote(1.5, 1.98, 64, 90),  # same pitch next, 20 ms later: a re-articulation, not joined
        ScoreNote(2.0, 2.4, 64, 90),  # 200 ms before another pitch: a rest, not joined
        ScoreNote(2.6, 3.0, 67, 90),  # last note: unchanged
    ]
    slurred = mono_legato(list(reversed(line)), join_gap_s=0.06)
    assert [n.end_s for n in slurred] == [0.5, 1.0, 1.3, 1.98, 2.4, 3.0]
    assert [n.start_s for n in slurred] == [n.start_s for n in line]
    tight = mono_legato(line, join_gap_s=0.0)
    assert [n.end_s for n in tight] == [0.5, 0.95, 1.3, 1.98, 2.4, 3.0]
    # A double stop cannot be played on a mono channel.
    assert mono_legato(line + [ScoreNote(2.61, 3.0, 71, 90)], join_gap_s=0.06) is None


def _fundamental_energy(audio: np.ndarray, pitch: int, t: float, width: int = 512) -> float:
    """Magnitude at ``pitch``'s fundamental in a Hann window of ``width`` samples starting at ``t`` s."""
    f0 = midi_to_hz(pitch)
    i = int(t * SAMPLE_RATE)
    k = np.exp(-2j * np.pi * f0 * np.arange(width) / SAMPLE_RATE)
    return float(abs(np.sum(np.hanning(width) * k * audio[i : i + width])))


@pytest.mark.parametrize("program, first, second", [(71, 62, 63), (40, 62, 64)])
def test_legato_render_changes_pitch_without_a_new_attack(program, first, second):
    from septimbre.data.render import render_stem

    # In TimGM6mb both pitches of each pair (clarinet, violin) share a sample zone, so the slurred
    # voice is re-pitched: the new fundamental is at full level from the onset, not rising from 0.
    notes = [ScoreNote(0.2, 1.0, first, 90), ScoreNote(1.0, 2.0, second, 90)]
    n = int(2.3 * SAMPLE_RATE)
    plain = render_stem(notes, soundfont=TIM, program=program, n_samples=n)
    slur = render_stem(notes, soundfont=TIM, program=program, n_samples=n, legato=True)

    def rise(audio):  # first 23 ms after the onset relative to the held note
        return _fundamental_energy(audio, second, 1.0) / _fundamental_energy(audio, second, 1.5)

    assert rise(plain) < 0.6
    assert rise(slur) > 0.9
    # Each labelled pitch dominates its own span in both renders.
    for audio in (plain, slur):
        assert _fundamental_energy(audio, first, 0.6, 2048) > 3 * _fundamental_energy(audio, second, 0.6, 2048)
        assert _fundamental_energy(audio, second, 1.5, 2048) > 3 * _fundamental_energy(audio, first, 1.5, 2048)


def test_mono_legato_changes_labels_only_on_legato_stems_and_draws_from_its_own_stream():
    from septimbre.data.example import make_example

    base = dict(soundfonts={"TimGM6mb": {"programs": [56, 71, 73]}}, n_instruments_weights=[0, 1])
    plain = make_example(tiny_config(**base), 3)
    slur = make_example(tiny_config(**base, performance={"mono_legato_prob": 1.0, "legato_join_s": [0.1, 0.1]}), 3)
    assert [m["program"] for m in plain.meta["instruments"]] == [m["program"] for m in slur.meta["instruments"]]
    assert not any(m["mono_legato"] for m in plain.meta["instruments"])
    changed = False
    for m, a, b in zip(slur.meta["instruments"], plain.notes, slur.notes):
        assert [n.start_s for n in a] == [n.start_s for n in b]  # onsets never move
        if m["mono_legato"]:
            # one note at a time: each label ends by the next onset
            assert all(x.end_s <= y.start_s + 1e-9 for x, y in zip(b, b[1:]))
            changed |= a != b
        else:
            assert a == b
    assert changed and any(m["mono_legato"] for m in slur.meta["instruments"])


# ---------------------------------------------------------------- sustain pedal


def test_sustain_pedal_holds_released_keys_until_the_next_change():
    from septimbre.data.performance import sustain_pedal

    keys = [
        ScoreNote(0.0, 0.05, 48, 80),  # released before the pedal goes down (0.1): not held
        ScoreNote(0.0, 0.4, 60, 80),  # released under the pedal: sounds until the change at 0.5
        ScoreNote(0.5, 0.7, 60, 80),  # re-struck key (and a change point): rings until the lift at 1.0
        ScoreNote(1.0, 1.3, 64, 80),  # next change point: lift at 1.0, press at 1.1
        ScoreNote(1.01, 1.2, 67, 80),  # same chord (within 30 ms)
    ]
    rng = np.random.default_rng(0)
    sounding, events = sustain_pedal(keys, rng, change_prob=1.0, catch_s=0.1, duration_s=3.0)
    assert [(n.start_s, n.pitch) for n in sounding] == [(n.start_s, n.pitch) for n in keys]
    ends = [n.end_s for n in sounding]
    assert ends[:4] == [0.05, 0.5, 1.0, ends[3]]
    last_lift = events[-1].time_s
    assert 1.3 <= last_lift <= 1.8 and ends[3] == ends[4] == last_lift
    assert [(e.number, e.value) for e in events] == [(64, 127), (64, 0)] * 3
    assert [e.time_s for e in events[:5]] == [0.1, 0.5, 0.6, 1.0, 1.1]
    # Without changes the first press lasts to the end; the labels never end before the key release.
    sounding, events = sustain_pedal(keys, rng, change_prob=0.0, catch_s=0.1, duration_s=3.0)
    assert len(events) == 2 and all(s.end_s >= min(k.end_s, 0.5) for s, k in zip(sounding, keys))


def test_pedal_keeps_a_released_piano_note_sounding():
    from septimbre.data.render import render_stem

    notes = [ScoreNote(0.2, 0.4, 60, 100)]
    pedal = [ControlEvent(0.3, "cc", 64, 127), ControlEvent(1.5, "cc", 64, 0)]
    n = int(2.0 * SAMPLE_RATE)
    dry = render_stem(notes, soundfont=TIM, program=0, n_samples=n)
    held = render_stem(notes, soundfont=TIM, program=0, n_samples=n, controls=pedal)
    assert _fundamental_energy(held, 60, 1.0, 2048) > 10 * _fundamental_energy(dry, 60, 1.0, 2048)
    assert _fundamental_energy(held, 60, 1.8, 2048) < 0.3 * _fundamental_energy(held, 60, 1.0, 2048)


def test_detuned_stem_sounds_off_its_label_by_the_drawn_cents():
    from septimbre.data.render import render_stem

    n = int(1.5 * SAMPLE_RATE)
    notes = [ScoreNote(0.0, 1.4, 69, 100)]
    bend = int(round(30.0 / (100.0 * BEND_RANGE_SEMITONES) * 8192))
    for cents, controls in [(0.0, []), (30.0, [ControlEvent(0.0, "bend", 0, bend)])]:
        audio = render_stem(notes, soundfont=TIM, program=71, n_samples=n, controls=controls)
        seg = audio[int(0.3 * SAMPLE_RATE): int(1.3 * SAMPLE_RATE)]
        spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), 16 * len(seg)))
        freqs = np.fft.rfftfreq(16 * len(seg), 1.0 / SAMPLE_RATE)
        band = (freqs > 400) & (freqs < 480)
        peak = freqs[band][np.argmax(spec[band])]
        assert peak == pytest.approx(440.0 * 2.0 ** (cents / 1200.0), abs=1.5)  # 30 cents = 7.7 Hz


def test_detune_touches_sustained_stems_only_and_draws_from_its_own_stream():
    from septimbre.data.example import make_example

    base = dict(soundfonts={"TimGM6mb": {"programs": [0, 71]}}, n_instruments_weights=[0, 1])
    plain = make_example(tiny_config(**base), 5)
    tuned = make_example(tiny_config(**base, performance={"detune_cents": 20.0}), 5)
    assert [m["program"] for m in plain.meta["instruments"]] == [m["program"] for m in tuned.meta["instruments"]]
    assert sorted(m["program"] for m in tuned.meta["instruments"]) == [0, 71]
    assert plain.notes == tuned.notes and np.array_equal(plain.rolls, tuned.rolls)
    for m, p in zip(tuned.meta["instruments"], plain.meta["instruments"]):
        assert p["detune_cents"] == 0.0
        if m["program"] == 0:
            assert m["detune_cents"] == 0.0
        else:
            assert 0.0 < abs(m["detune_cents"]) <= 20.0
    assert not np.allclose(plain.mix, tuned.mix)


def test_pedal_extends_piano_labels_only_and_draws_from_its_own_stream():
    from septimbre.data.example import make_example

    base = dict(soundfonts={"TimGM6mb": {"programs": [0, 71]}}, n_instruments_weights=[0, 1])
    plain = make_example(tiny_config(**base), 5)
    pedal = make_example(tiny_config(**base, performance={"pedal_prob": 1.0}), 5)
    assert [m["program"] for m in plain.meta["instruments"]] == [m["program"] for m in pedal.meta["instruments"]]
    assert 0 in [m["program"] for m in pedal.meta["instruments"]]
    for m, a, b in zip(pedal.meta["instruments"], plain.notes, pedal.notes):
        assert [(n.start_s, n.pitch) for n in a] == [(n.start_s, n.pitch) for n in b]
        if m["program"] == 0:
            assert m["pedal_changes"] >= 1
            assert all(y.end_s >= x.end_s - 1e-9 for x, y in zip(a, b)) and a != b
        else:
            assert m["pedal_changes"] == 0 and a == b


# ---------------------------------------------------------------- re-articulation


def test_rearticulate_leaves_a_break_before_repeated_pitches_only():
    from septimbre.data.performance import rearticulate

    line = [
        ScoreNote(0.0, 0.5, 60, 90),  # repeated at once: ends 50 ms before the re-attack
        ScoreNote(0.5, 1.0, 60, 90),  # next 60 at 1.2, 200 ms later: already a break
        ScoreNote(1.2, 1.5, 60, 90),  # next 60 at 1.6, 100 ms later: kept
        ScoreNote(1.5, 1.6, 62, 90),  # another pitch follows at once: a change of note, kept
        ScoreNote(1.6, 2.0, 60, 90),
        ScoreNote(3.0, 3.04, 64, 90),  # too short to lose 50 ms: keeps MIN_NOTE_S (30 ms)
        ScoreNote(3.04, 3.5, 64, 90),
        ScoreNote(4.0, 4.4, 67, 90),  # chord notes: only the repeated pitch changes
        ScoreNote(4.0, 4.4, 71, 90),
        ScoreNote(4.4, 4.8, 67, 90),
    ]
    out = rearticulate(list(reversed(line)), np.random.default_rng(0), gap_s=(0.05, 0.05))
    assert [(n.start_s, n.pitch, n.velocity) for n in out] == [(n.start_s, n.pitch, n.velocity) for n in line]
    assert [round(n.end_s, 6) for n in out] == [0.45, 1.0, 1.5, 1.6, 2.0, 3.03, 3.5, 4.35, 4.4, 4.8]
    # Gaps are drawn per note inside the range.
    rep = [ScoreNote(0.5 * i, 0.5 * (i + 1), 60, 90) for i in range(40)]
    spaced = rearticulate(rep, np.random.default_rng(1), gap_s=(0.03, 0.1))
    gaps = [b.start_s - a.end_s for a, b in zip(spaced, spaced[1:])]
    assert min(gaps) >= 0.03 - 1e-9 and max(gaps) <= 0.1 + 1e-9 and np.std(gaps) > 0.01
    with pytest.raises(ParameterError):
        rearticulate(line, np.random.default_rng(0), gap_s=(0.1, 0.05))


def test_rearticulated_repeat_dips_before_the_new_attack():
    from septimbre.data.performance import rearticulate
    from septimbre.data.render import render_stem

    # A clarinet repeating D4: FluidSynth releases the old voice exactly at the new note-on, so the
    # fundamental dips only briefly and part way; with a 60 ms break it falls well below the held level first.
    notes = [ScoreNote(0.2, 1.0, 62, 90), ScoreNote(1.0, 1.8, 62, 90)]
    n = int(2.0 * SAMPLE_RATE)

    def dip(ns):
        audio = render_stem(ns, soundfont=TIM, program=71, n_samples=n)
        held = _fundamental_energy(audio, 62, 0.8)
        return min(_fundamental_energy(audio, 62, t) for t in np.arange(0.85, 1.03, 0.005)) / held

    plain = dip(notes)
    broken = dip(rearticulate(notes, np.random.default_rng(0), gap_s=(0.06, 0.06)))
    # (measured: 0.31 without the break, 0.08 with it)
    assert broken < 0.15 and plain > 0.2 and broken < plain / 3


def test_rearticulation_moves_offsets_only_and_draws_from_its_own_stream():
    from septimbre.data.example import make_example

    base = dict(soundfonts={"TimGM6mb": {"programs": [40, 56, 71]}}, n_instruments_weights=[0, 1],
                performance={"repeat_prob": [0.6, 0.6]})
    plain = make_example(tiny_config(**base), 5)
    cfg = tiny_config(**{**base, "performance": {**base["performance"], "rearticulate_prob": 1.0,
                                                  "rearticulate_gap_s": [0.05, 0.05]}})
    broken = make_example(cfg, 5)
    assert [m["program"] for m in plain.meta["instruments"]] == [m["program"] for m in broken.meta["instruments"]]
    assert not any(m["rearticulated"] for m in plain.meta["instruments"])
    assert all(m["rearticulated"] for m in broken.meta["instruments"])
    moved = 0
    for a, b in zip(plain.notes, broken.notes):
        assert [(n.start_s, n.pitch) for n in a] == [(n.start_s, n.pitch) for n in b]
        moved += sum(x.end_s != y.end_s for x, y in zip(a, b))
        for x in b:  # every re-attack of a pitch now follows a break (unless the note was too short)
            nxt = [y.start_s for y in b if y.pitch == x.pitch and y.start_s > x.start_s]
            if nxt and x.end_s - x.start_s > 0.06:
                assert min(nxt) - x.end_s >= 0.05 - 1e-9
    assert moved > 0
    assert not np.array_equal(plain.mix, broken.mix)
    with pytest.raises(ParameterError, match="rearticulate"):
        tiny_config(performance={"rearticulate_prob": 1.5})
    with pytest.raises(ParameterError, match="rearticulate"):
        tiny_config(performance={"rearticulate_gap_s": [0.1, 0.05]})


def test_rearticulation_with_score_labels_breaks_the_audio_only():
    from septimbre.data.example import make_example

    base = dict(soundfonts={"TimGM6mb": {"programs": [40, 56, 71]}}, n_instruments_weights=[0, 1],
                performance={"repeat_prob": [0.6, 0.6]})
    plain = make_example(tiny_config(**base), 5)

    def reartic(labels):
        perf = {**base["performance"], "rearticulate_prob": 1.0, "rearticulate_gap_s": [0.05, 0.05],
                "rearticulate_labels": labels}
        return make_example(tiny_config(**{**base, "performance": perf}), 5)

    played, score = reartic("played"), reartic("score")
    np.testing.assert_array_equal(score.mix, played.mix)  # the same broken audio
    assert not np.array_equal(score.mix, plain.mix)
    assert score.notes == plain.notes  # labels keep the written lengths
    assert score.notes != played.notes
    np.testing.assert_array_equal(score.rolls, plain.rolls)
    with pytest.raises(ParameterError, match="rearticulate_labels"):
        tiny_config(performance={"rearticulate_labels": "written"})


def test_restore_written_ends_keeps_the_longer_end():
    from septimbre.data.notes import ScoreNote
    from septimbre.data.performance import restore_written_ends

    notes = [ScoreNote(0.0, 0.4, 60, 80), ScoreNote(0.5, 1.5, 60, 80), ScoreNote(0.5, 0.9, 64, 80)]
    written = [ScoreNote(0.0, 0.5, 60, 80), ScoreNote(0.5, 0.7, 64, 80), ScoreNote(2.0, 3.0, 60, 80)]
    out = restore_written_ends(notes, written)
    assert [n.end_s for n in out] == [0.5, 1.5, 0.9]


# ---------------------------------------------------------------- accompanied score material


def _line(pitch: int, n: int = 3) -> list[ScoreNote]:
    return [ScoreNote(float(i), float(i) + 0.9, pitch, 90) for i in range(n)]


def test_accompaniment_parts_give_every_leftover_part_to_the_first_instrument():
    from septimbre.data.example import accompaniment_parts

    lines = [_line(72), _line(65), _line(60), _line(48)]
    out = accompaniment_parts(lines, 2, np.random.default_rng(0))
    assert len(out) == 2
    # the soloist plays one whole part, the accompanist the three others, nothing lost or doubled
    assert len({n.pitch for n in out[1]}) == 1 and len(out[1]) == 3
    assert sorted(n.pitch for line in out for n in line) == sorted(n.pitch for line in lines for n in line)
    assert [n.start_s for n in out[0]] == sorted(n.start_s for n in out[0])
    # no part left over: the accompanist doubles one of the others (colla parte)
    out = accompaniment_parts(lines, 4, np.random.default_rng(1))
    own = {n.pitch for n in out[0]}
    assert len(own) == 2 and any({n.pitch for n in o} < own for o in out[1:])
    # alone, it plays every part; fewer parts than instruments gives fewer lines
    assert len(accompaniment_parts(lines, 1, np.random.default_rng(2))[0]) == 12
    assert len(accompaniment_parts(lines[:2], 3, np.random.default_rng(3))) == 2
    with pytest.raises(ParameterError, match="at least one"):
        accompaniment_parts(lines, 0, np.random.default_rng(0))


def test_score_accompaniment_puts_the_other_parts_on_the_polyphonic_instrument():
    from septimbre.data.example import make_example
    from septimbre.data.programs import program_info

    base = dict(soundfonts={"TimGM6mb": {"programs": [0, 71]}}, n_instruments_weights=[0, 1],
                score_ratio=1.0, score_collections={"bach": 1.0}, duration_s=[4.0, 4.0])
    with pytest.raises(ParameterError, match="score_accompaniment_prob"):
        tiny_config(**base, score_accompaniment_prob=1.5)
    checked = 0
    for index in range(12):
        plain = make_example(tiny_config(**base), index)
        if plain.meta["source"] != "score" or sorted(plain.meta["programs"]) != [0, 71]:
            continue
        assert plain.meta["accompaniment"] is False
        # the default (0) renders exactly what a config without the field renders
        np.testing.assert_array_equal(make_example(tiny_config(**base, score_accompaniment_prob=0.0), index).mix,
                                      plain.mix)
        acc = make_example(tiny_config(**base, score_accompaniment_prob=1.0), index)
        assert acc.meta["accompaniment"] is True and acc.meta["source"] == "score"
        assert program_info(acc.meta["programs"][0]).polyphonic and acc.meta["programs"][1] == 71
        piano, clarinet = acc.notes
        sounding = max(sum(m.start_s <= n.start_s < m.end_s for m in piano) for n in piano)
        assert len(piano) > len(clarinet) and sounding >= 2  # chords under the soloist
        checked += 1
    assert checked >= 2


# ---------------------------------------------------------------- weak fundamentals


def test_weaken_fundamentals_cuts_below_the_cutoff_and_keeps_the_octave():
    from septimbre.data.room import weaken_fundamentals

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    f0 = 110.0
    x = (np.sin(2 * np.pi * f0 * t) + np.sin(2 * np.pi * 2 * f0 * t)).astype(np.float32)
    y = weaken_fundamentals(x, cutoff_hz=2 * f0 * 0.99, depth_db=12.0)  # f0 one octave below
    spec = lambda s, f: np.abs(np.fft.rfft(s * np.hanning(len(s))))[int(round(f))]  # 1 Hz bins
    assert 20 * np.log10(spec(y, f0) / spec(x, f0)) == pytest.approx(-12.0, abs=0.3)
    assert 20 * np.log10(spec(y, 2 * f0) / spec(x, 2 * f0)) == pytest.approx(0.0, abs=0.3)
    np.testing.assert_array_equal(weaken_fundamentals(x, cutoff_hz=200.0, depth_db=0.0), x)
    with pytest.raises(ParameterError):
        weaken_fundamentals(x, cutoff_hz=0.0, depth_db=6.0)


def test_fundamental_cut_changes_audio_only_and_draws_from_its_own_stream():
    from septimbre.data.example import make_example

    base = dict(soundfonts={"TimGM6mb": {"programs": [70, 42]}}, n_instruments_weights=[0, 1])
    plain = make_example(tiny_config(**base), 3)
    cut = make_example(tiny_config(**base, room={"fundamental_cut_prob": 1.0, "fundamental_cut_db": [12.0, 12.0]}), 3)
    assert cut.notes == plain.notes and cut.meta["programs"] == plain.meta["programs"]
    np.testing.assert_array_equal(cut.rolls, plain.rolls)
    assert all(m["fundamental_cut_db"] == 12.0 and m["fundamental_cut_hz"] > 0 for m in cut.meta["instruments"])
    assert all(m["fundamental_cut_db"] == 0.0 for m in plain.meta["instruments"])
    assert not np.array_equal(cut.mix, plain.mix)
    with pytest.raises(ParameterError, match="fundamental_cut"):
        tiny_config(room={"fundamental_cut_prob": 2.0})
    with pytest.raises(ParameterError, match="fundamental_cut"):
        tiny_config(room={"fundamental_cut_db": [10.0, 5.0]})


def test_eq_tilt_clips_at_its_limit():
    from septimbre.data.room import TILT_LIMIT_DB, eq_tilt

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    x = np.sin(2 * np.pi * 8000.0 * t).astype(np.float32)  # three octaves above the 1 kHz pivot
    level = lambda y: 20 * np.log10(np.sqrt(np.mean(y[2000:-2000] ** 2)) / np.sqrt(np.mean(x[2000:-2000] ** 2)))
    assert level(eq_tilt(x, db_per_octave=-6.0)) == pytest.approx(-TILT_LIMIT_DB, abs=0.2)
    assert level(eq_tilt(x, db_per_octave=-6.0, limit_db=24.0)) == pytest.approx(-18.0, abs=0.2)
    assert level(eq_tilt(x, db_per_octave=-10.0, limit_db=24.0)) == pytest.approx(-24.0, abs=0.2)


def test_family_tilt_ranges_replace_the_room_range_for_their_families_only():
    from septimbre.data.example import make_example
    from septimbre.data.programs import program_info

    base = dict(soundfonts={"TimGM6mb": {"programs": [0, 40, 71]}}, n_instruments_weights=[0, 0, 1])
    plain = make_example(tiny_config(**base, tilt_limit_db=30.0), 5)
    tilted = make_example(tiny_config(**base, tilt_limit_db=30.0,
                                      family_tilt_db_per_octave={"strings": [-20.0, -20.0], "reed": [-20.0, -20.0]}), 5)
    assert tilted.notes == plain.notes and tilted.meta["programs"] == plain.meta["programs"]
    np.testing.assert_array_equal(tilted.rolls, plain.rolls)
    families = [program_info(m["program"]).family for m in plain.meta["instruments"]]
    assert "piano" in families and ({"strings", "reed"} & set(families))
    for fam, a, b, sa, sb in zip(families, plain.meta["instruments"], tilted.meta["instruments"], plain.stems,
                                 tilted.stems):
        assert a["gain_db"] == b["gain_db"]  # the same draws, in the same order
        if fam in ("strings", "reed"):
            assert b["tilt_db_per_octave"] == -20.0 and not np.allclose(sa, sb)
        else:
            assert b["tilt_db_per_octave"] == a["tilt_db_per_octave"]
            scale = float(np.dot(sa, sb) / np.dot(sa, sa))  # the mix's peak normalisation is shared
            np.testing.assert_allclose(sb, scale * sa, atol=1e-5)
    with pytest.raises(ParameterError, match="unknown family"):
        tiny_config(family_tilt_db_per_octave={"violins": [-3.0, 0.0]})
    with pytest.raises(ParameterError, match="family_tilt"):
        tiny_config(family_tilt_db_per_octave={"reed": [0.0, -3.0]})
    with pytest.raises(ParameterError, match="tilt_limit_db"):
        tiny_config(tilt_limit_db=0.0)


# ---------------------------------------------------------------- source-filter synthesizer


def test_synthesized_stems_change_the_audio_only_and_draw_from_their_own_stream():
    from septimbre.data.example import make_example

    base = dict(n_instruments_weights=[0, 0, 1])
    plain = make_example(tiny_config(**base), 4)
    synth = make_example(tiny_config(**base, synth_prob=1.0), 4)
    assert synth.notes == plain.notes and synth.meta["programs"] == plain.meta["programs"]
    np.testing.assert_array_equal(synth.rolls, plain.rolls)
    assert plain.meta["synthesized"] == [False] * 3 and synth.meta["synthesized"] == [True] * 3
    assert not np.allclose(synth.stems, plain.stems)
    # Each synthesized stem sounds its notes: energy in the first frames after each labelled onset.
    for stem, notes in zip(synth.stems, synth.notes):
        for n in notes[:5]:
            at = int(round(n.start_s * SAMPLE_RATE))
            assert np.abs(stem[at:at + 2 * HOP_LENGTH]).max() > 1e-3 * np.abs(stem).max()
