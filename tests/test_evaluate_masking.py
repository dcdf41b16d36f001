"""``python -m septimbre.evaluate masking``: a part's notes found as another part is turned down."""

from __future__ import annotations

import numpy as np
import pytest
from septimbre.evaluate.masking import format_masking, masking_curve
from septimbre.utils.constants import SAMPLE_RATE
from septimbre.utils.errors import ParameterError

REF = np.array([[0.25, 1.25, 69.0]])


def _tracks() -> dict[str, np.ndarray]:
    t = np.arange(int(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
    rng = np.random.default_rng(0)
    return {"violin": (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
            "piano": (0.3 / np.sqrt(2) * rng.standard_normal(len(t))).astype(np.float32)}


def test_the_masker_alone_changes_gain_and_the_counts_follow_it():
    tracks = _tracks()

    def transcribe(audio):
        # A stand-in model that hears the violin only while the rest is 10 dB under it.
        rest = audio - tracks["violin"]
        ratio_db = 10 * np.log10(np.mean(rest**2) / np.mean(tracks["violin"] ** 2) + 1e-30)
        return REF.copy() if ratio_db < -10 else np.zeros((0, 3))

    points = masking_curve(tracks, REF, "piano", transcribe, gains_db=(0.0, -6.0, -12.0, -24.0))
    # White noise at the sine's RMS: 0 dB; so -12 dB and below are under the stand-in's -10 dB.
    assert [(p.gain_db, p.found, p.total) for p in points] == [
        (None, 1, 1), (0.0, 0, 1), (-6.0, 0, 1), (-12.0, 1, 1), (-24.0, 1, 1)]
    text = format_masking(points, part="violin", masker="piano")
    assert "left out" in text and "-12 dB:    1 of 1" in text
    with pytest.raises(ParameterError, match="no track 'harp'"):
        masking_curve(tracks, REF, "harp", transcribe)


def test_command_on_a_two_part_folder_with_the_test_double(tmp_path, capsys):
    pytest.importorskip("onnx")
    sf = pytest.importorskip("soundfile")
    pretty_midi = pytest.importorskip("pretty_midi")
    from septimbre.evaluate.cli import main
    from septimbre.testing import build_test_double, write_test_config

    piece = tmp_path / "trios" / "duo"
    piece.mkdir(parents=True)
    tracks = _tracks()
    tracks["violin"][: int(0.25 * SAMPLE_RATE)] = 0
    tracks["violin"][int(1.25 * SAMPLE_RATE):] = 0
    for name, audio in tracks.items():
        sf.write(piece / f"{name}.flac", audio, SAMPLE_RATE)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=40)
    inst.notes = [pretty_midi.Note(velocity=80, pitch=69, start=0.25, end=1.25)]
    pm.instruments.append(inst)
    pm.write(str(piece / "violin.mid"))
    model = build_test_double(tmp_path / "double" / "basicamt.onnx")
    write_test_config(model.with_suffix(".json"))

    args = ["masking", "--trios", str(tmp_path / "trios"), "--piece", "duo", "--part", "violin",
            "--masker", "piano", "--model", str(model)]
    assert main([*args, "--gains=-6,-60"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "piano  left out:    1 of 1" in lines[1] and "-60 dB" in lines[3]
    assert main([*args[:-2], "--part", "piano"]) == 2  # no piano.mid: nothing to count
    assert "no reference piano.mid" in capsys.readouterr().err
    assert main([*args, "--audibility"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "is a lost note masked" in lines[0] and [line.split()[0] for line in lines[-3:]] == ["found", "lost", "lost"]


def test_swap_table_pairs_recorded_and_rendered_versions():
    from septimbre.evaluate.masking import format_swap, swap_table

    tracks = _tracks()
    quiet = {"part": tracks["violin"], "masker": 0.1 * tracks["piano"]}  # a render that masks 20 dB less

    def transcribe(audio):
        # Hears the note while whatever is not a violin (recorded or rendered) is 10 dB under it.
        rest = audio - tracks["violin"]
        ratio_db = 10 * np.log10(np.mean(rest**2) / np.mean(tracks["violin"] ** 2) + 1e-30)
        return REF.copy() if ratio_db < -10 else np.zeros((0, 3))

    rows = swap_table(tracks["violin"], tracks["piano"], REF, transcribe, lambda which, sf: quiet[which],
                      soundfonts=("A", "B"))
    assert [r.soundfont for r in rows] == [None, "A", "B"]
    assert (rows[0].part_alone, rows[0].with_masker) == (1, 0)
    a = rows[1]
    assert (a.with_rendered_masker, a.rendered_alone, a.rendered_with_masker, a.rendered_with_rendered_masker) == (
        1, 1, 0, 1)
    text = format_swap(rows, part="violin", masker="piano")
    assert "recorded violin alone 1, with recorded piano 0" in text and text.count("\n") == 5


def test_swap_command_renders_with_the_training_soundfonts(tmp_path, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("fluidsynth", reason="pyfluidsynth (septimbre[train]) not installed")
    sf = pytest.importorskip("soundfile")
    pretty_midi = pytest.importorskip("pretty_midi")
    from septimbre.data.soundfonts import find_soundfont
    from septimbre.evaluate.cli import main
    from septimbre.evaluate.masking import SWAP_SOUNDFONTS
    from septimbre.testing import build_test_double, write_test_config
    from septimbre.utils.errors import MissingResourceError

    try:
        [find_soundfont(k) for k in SWAP_SOUNDFONTS]
    except MissingResourceError as exc:  # pragma: no cover - CI installs all three
        pytest.skip(f"needs the training soundfonts: {exc}")
    piece = tmp_path / "trios" / "duo"
    piece.mkdir(parents=True)
    tracks = _tracks()
    tracks["violin"][: int(0.25 * SAMPLE_RATE)] = 0
    tracks["violin"][int(1.25 * SAMPLE_RATE):] = 0
    for name, pitch in (("violin", 69), ("piano", 48)):
        sf.write(piece / f"{name}.flac", tracks[name], SAMPLE_RATE)
        pm = pretty_midi.PrettyMIDI()
        inst = pretty_midi.Instrument(program=0)
        inst.notes = [pretty_midi.Note(velocity=80, pitch=pitch, start=0.25, end=1.25)]
        pm.instruments.append(inst)
        pm.write(str(piece / f"{name}.mid"))
    model = build_test_double(tmp_path / "double" / "basicamt.onnx")
    write_test_config(model.with_suffix(".json"))

    args = ["masking", "--trios", str(tmp_path / "trios"), "--piece", "duo", "--part", "violin",
            "--masker", "piano", "--model", str(model)]
    assert main([*args, "--render-programs", "40,0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "recorded violin alone 1," in lines[1]
    assert [line.split()[0] for line in lines[-3:]] == list(SWAP_SOUNDFONTS)
    assert main([*args, "--render-programs", "40"]) == 2
    assert "two GM programs" in capsys.readouterr().err
    # --swap alone takes each TRIOS instrument's nearest GM program; --transplant adds its table.
    assert main([*args, "--swap", "--transplant"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "recorded violin alone 1," in lines[1] and "after envelope transplants" in lines[7]
    assert [line.split()[:2] for line in lines[-6:]] == [[sf, band] for sf in SWAP_SOUNDFONTS
                                                         for band in ("1/3", "1/12")]
    assert main([*args, "--part-tilt", "-12", "--tilt-limit", "20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "rendered violin tilted -12 dB per octave around 1 kHz (clipped at 20 dB)"
    assert [line.split()[0] for line in lines[-3:]] == list(SWAP_SOUNDFONTS)
    (piece / "violin.flac").rename(piece / "harp.flac")
    (piece / "violin.mid").rename(piece / "harp.mid")
    assert main([*args[:6], "harp", *args[7:], "--swap"]) == 2
    assert "no GM program known for harp" in capsys.readouterr().err


def _harmonic(f0: float, levels_db, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return sum(10 ** (g / 20) * np.sin(2 * np.pi * (k + 1) * f0 * t) for k, g in enumerate(levels_db)).astype(np.float32)


def _peak_db(x: np.ndarray, f: float) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), 8 * len(x)))
    freqs = np.fft.rfftfreq(8 * len(x), 1 / SAMPLE_RATE)
    band = (freqs > f * 2 ** (-1 / 24)) & (freqs < f * 2 ** (1 / 24))
    return 20 * np.log10(spec[band].max())


def test_transplant_takes_band_levels_and_timing_but_keeps_partial_frequencies():
    from septimbre.evaluate.masking import transplant_envelope

    src = _harmonic(220.0, [0, 0, 0])  # three equal partials
    dark = _harmonic(223.0, [-30, 0, -30])  # partial 2 on top, 23 cents sharp
    dark[: SAMPLE_RATE // 2] = 0.0  # and silent for the first half second
    y = transplant_envelope(src, dark, band_octaves=1 / 12)
    assert y.shape == src.shape and y.dtype == np.float32
    second = y[SAMPLE_RATE // 2 + 2048:]
    assert _peak_db(second, 440.0) - _peak_db(second, 220.0) > 20  # partial balance of the envelope source
    assert _peak_db(second, 440.0) - _peak_db(second, 660.0) > 20
    spec = np.abs(np.fft.rfft(second * np.hanning(len(second)), 8 * len(second)))
    freqs = np.fft.rfftfreq(8 * len(second), 1 / SAMPLE_RATE)
    assert abs(freqs[np.argmax(spec)] - 440.0) < 1.0  # src's partial frequency, not 446 Hz
    rms = lambda x: float(np.sqrt(np.mean(x**2)))
    assert rms(y[1024: SAMPLE_RATE // 2 - 2048]) < 1e-3 * rms(second)  # the envelope source's silence
    same = transplant_envelope(src, src, band_octaves=1 / 3)
    np.testing.assert_allclose(same[2048:-2048], src[2048:-2048], atol=1e-3)
    with pytest.raises(ParameterError, match="band_octaves"):
        transplant_envelope(src, dark, band_octaves=0.0)
    with pytest.raises(ParameterError, match="same length"):
        transplant_envelope(src, dark[:-1], band_octaves=1 / 3)


def test_transplant_table_counts_both_directions_beside_the_masker():
    from septimbre.evaluate.masking import format_transplant, transplant_table

    tracks = _tracks()
    t = np.arange(len(tracks["violin"])) / SAMPLE_RATE
    loud = (4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # a "render" 22 dB louder than the part

    def transcribe(audio):
        # Hears the note while the 440 Hz partial stands 10 dB above the rest of the spectrum.
        spec = np.abs(np.fft.rfft(audio)) ** 2
        k = int(round(440 * len(audio) / SAMPLE_RATE))
        peak = spec[k - 3:k + 4].sum()
        ratio_db = 10 * np.log10((peak + 1e-30) / (spec.sum() - peak + 1e-12 * peak + 1e-30))
        return REF.copy() if ratio_db > 10 else np.zeros((0, 3))

    rows = transplant_table(tracks["violin"], tracks["piano"], REF, transcribe, lambda which, sf: loud,
                            soundfonts=("A",), bands_octaves=(1 / 3,))
    (r,) = rows
    # The level travels with the envelope: the render at the recording's level is masked like it,
    # the recording at the render's level (22 dB up) is not.
    assert (r.soundfont, r.total, r.rendered_alone, r.rendered_with_masker) == ("A", 1, 1, 0)
    assert (r.recorded_alone, r.recorded_with_masker) == (1, 1)
    assert format_transplant(rows, part="violin", masker="piano").splitlines()[-1].split()[:4] == ["A", "1/3", "oct", "1"]


def test_a_tilted_render_is_darker_at_the_recordings_level(tmp_path):
    pytest.importorskip("fluidsynth", reason="pyfluidsynth (septimbre[train]) not installed")
    pretty_midi = pytest.importorskip("pretty_midi")
    from septimbre.data.soundfonts import find_soundfont
    from septimbre.evaluate.masking import active_level, render_like
    from septimbre.utils.errors import MissingResourceError

    try:
        find_soundfont("TimGM6mb")
    except MissingResourceError as exc:  # pragma: no cover - CI installs it
        pytest.skip(f"needs TimGM6mb: {exc}")
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=56)
    inst.notes = [pretty_midi.Note(velocity=100, pitch=60, start=0.1, end=0.9)]
    pm.instruments.append(inst)
    pm.write(str(tmp_path / "trumpet.mid"))
    recorded = _tracks()["violin"][:SAMPLE_RATE]
    plain = render_like(tmp_path / "trumpet.mid", 56, "TimGM6mb", recorded)
    dark = render_like(tmp_path / "trumpet.mid", 56, "TimGM6mb", recorded, tilt_db_per_octave=-12.0, tilt_limit_db=20.0)
    assert active_level(plain) == pytest.approx(active_level(recorded), rel=1e-3)
    assert active_level(dark) == pytest.approx(active_level(recorded), rel=1e-3)
    seg = slice(int(0.3 * SAMPLE_RATE), int(0.8 * SAMPLE_RATE))
    balance = lambda y: _peak_db(y[seg], 4 * 261.63) - _peak_db(y[seg], 261.63)  # partial 4 over the fundamental
    # Around the 1 kHz pivot: the fundamental (1.93 octaves below) gains +23 dB, clipped at +20; partial 4
    # (0.07 octave above) loses 0.8 dB.
    assert balance(plain) - balance(dark) == pytest.approx(20.8, abs=1.0)


def test_partial_snr_tells_a_masked_note_from_an_exposed_one():
    from septimbre.evaluate.masking import partial_snr

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    part = _harmonic(220.0, [0, -6, -12])  # A3 with partials 2 and 3 weaker
    far = (3.0 * np.sin(2 * np.pi * 1500.0 * t)).astype(np.float32)  # loud, but in no partial's bins
    same = (3.0 * np.sin(2 * np.pi * 220.0 * t) + 3.0 * np.sin(2 * np.pi * 440.0 * t)
            + 3.0 * np.sin(2 * np.pi * 660.0 * t)).astype(np.float32)  # louder in every one of them
    ref = np.array([[0.2, 0.8, 57.0]])
    exposed, masked = partial_snr(part, far, ref, n_partials=3), partial_snr(part, same, ref, n_partials=3)
    assert exposed[0, 0] > 40 and exposed[0, 1] == 3
    assert masked[0, 0] == pytest.approx(-9.5, abs=0.5)  # 20 log10(3) over the strongest partial
    assert masked[0, 1] == 0
    with pytest.raises(ParameterError, match="same length"):
        partial_snr(part, far[:-1], ref)


def test_audibility_groups_split_notes_by_where_they_are_found():
    from septimbre.evaluate.masking import audibility_groups, format_audibility

    tracks = _tracks()
    ref = np.array([[0.25, 1.25, 69.0], [0.3, 1.0, 81.0]])

    def transcribe(audio):
        # Finds the A4 always, the A5 only without the noise.
        quiet = np.mean((audio - tracks["violin"]) ** 2) < 1e-6
        return ref.copy() if quiet else ref[:1].copy()

    groups = audibility_groups(tracks["violin"], tracks["piano"], ref, transcribe)
    assert [(g.label, g.n_notes) for g in groups] == [
        ("found in the mix", 1), ("lost in the mix, found alone", 1), ("lost alone too", 0)]
    assert groups[0].median_best_db > 10  # a sine over white noise in three bins
    text = format_audibility(groups, part="violin", masker="piano")
    assert text.splitlines()[-1].split()[:4] == ["lost", "alone", "too", "0"]
