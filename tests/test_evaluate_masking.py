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
