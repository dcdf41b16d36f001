"""CLI smoke tests: transcribe to every format, batches, info, errors as one line, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from septimbre.cli import main


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("songs")
    sr = 32000
    t = np.arange(2 * sr) / sr
    for name, hz in (("a.wav", 440.0), ("b.flac", 659.26)):
        x = np.where((t > 0.5) & (t < 1.5), 0.3 * np.sin(2 * np.pi * hz * t), 0.0).astype(np.float32)
        sf.write(folder / name, x, sr)
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_transcribe_one_file_all_formats(double, songs, tmp_path, capsys):
    # One input, four formats into a folder; the MIDI holds the tone's pitch.
    out = tmp_path / "out"
    rc = main(["transcribe", str(songs / "a.wav"), "-o", str(out), "--model", str(double), "-q",
               "-f", "mid", "-f", "csv", "-f", "json", "-f", "png"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "a.json", "a.mid", "a.png"]
    data = json.loads((out / "a.json").read_text())
    assert [n["pitch"] for n in data["notes"]] == [69]
    assert capsys.readouterr().out == ""  # -q: nothing on stdout


def test_transcribe_folder_batch(double, songs, tmp_path):
    # A folder is expanded to its audio files (the .txt is ignored); one output each.
    out = tmp_path / "batch"
    assert main(["transcribe", str(songs), "-o", str(out), "--model", str(double), "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.mid", "b.mid"]


def test_recursive_folder_takes_subfolders_and_skips_hidden(double, songs, tmp_path, capsys):
    # Audio only in subfolders: without -r the folder holds none (one line that names -r); with -r
    # both files are found, their same stems get distinct names, and a hidden folder is skipped.
    top = tmp_path / "music"
    for sub in ("x", "y", ".cache"):
        (top / sub).mkdir(parents=True)
        (top / sub / "a.wav").write_bytes((songs / "a.wav").read_bytes())
    out = tmp_path / "rec"
    assert main(["transcribe", str(top), "-o", str(out), "--model", str(double), "-q"]) == 1
    assert "-r" in capsys.readouterr().err
    assert main(["transcribe", str(top), "-r", "-o", str(out), "--model", str(double), "-q"]) == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.mid")) == ["x/a.wav.mid", "y/a.wav.mid"]


def test_single_output_file_and_options(double, songs, tmp_path):
    # -o naming a file of the one requested format writes exactly that file; thresholds apply.
    target = tmp_path / "x.csv"
    rc = main(["transcribe", str(songs / "b.flac"), "-o", str(target), "-f", "csv", "--model", str(double),
               "-q", "--no-separate", "--instruments", "1", "--onset-threshold", "0.6", "--frame-threshold",
               "0.5", "--min-note-ms", "80", "--threads", "1"])
    assert rc == 0
    assert target.read_text().splitlines()[1].split(",")[2] == "76"


def test_errors_are_one_line_with_the_file(double, songs, tmp_path, capsys):
    # Missing input, undecodable input, too many instruments and a bad threshold: exit 1 and one
    # line on stderr naming the problem (and the file), no traceback.
    cases = [
        (["transcribe", str(tmp_path / "nope.wav")], "nope.wav"),
        (["transcribe", str(songs / "notes.txt"), "-o", str(tmp_path)], "notes.txt"),
        (["transcribe", str(songs / "a.wav"), "--instruments", "3"], "instruments=3"),
        (["transcribe", str(songs / "a.wav"), "--onset-threshold", "7"], "onset_threshold"),
        (["transcribe", str(songs / "a.wav"), "--model", str(tmp_path / "none.onnx")], "none.onnx"),
    ]
    for argv, needle in cases:
        rc = main(argv + (["--model", str(double)] if "--model" not in argv else []) + ["-q"])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 1, argv
        assert len(err) == 1 and needle in err[0] and "Traceback" not in err[0], err


def test_output_file_suffix_sets_the_format_and_must_match_the_run(double, songs, tmp_path, capsys):
    # One input, no -f: the -o file's suffix picks the format. A file name cannot take several
    # inputs or another format: exit 1, one line, nothing written.
    assert main(["transcribe", str(songs / "a.wav"), "-o", str(tmp_path / "a.json"), "--model", str(double), "-q"]) == 0
    assert [n["pitch"] for n in json.loads((tmp_path / "a.json").read_text())["notes"]] == [69]
    bad = [([str(songs / "a.wav"), str(songs / "b.flac"), "-o", str(tmp_path / "both.mid")], "2 inputs"),
           ([str(songs / "a.wav"), "-o", str(tmp_path / "a.mid"), "-f", "csv"], "asks for csv")]
    for argv, needle in bad:
        capsys.readouterr()
        assert main(["transcribe", *argv, "--model", str(double), "-q"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_outputs_never_overwrite_each_other(double, songs, tmp_path):
    # One name in two folders, and one stem with two suffixes: every input gets its own output; a
    # file named twice is transcribed once.
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        sf.write(tmp_path / sub / "take.wav", sf.read(songs / "a.wav")[0], 32000)
    sf.write(tmp_path / "x" / "take.flac", sf.read(songs / "b.flac")[0], 32000)
    inputs = [tmp_path / "x" / "take.wav", tmp_path / "y" / "take.wav", tmp_path / "x" / "take.flac",
              tmp_path / "x" / "take.wav"]
    out = tmp_path / "out"
    assert main(["transcribe", *map(str, inputs), "-o", str(out), "--model", str(double), "-q", "-f", "csv"]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.csv"))
    assert written == ["take.flac.csv", "x/take.wav.csv", "y/take.wav.csv"]
    assert (out / "take.flac.csv").read_text().splitlines()[1].split(",")[2] == "76"  # b.flac's tone


def test_empty_and_tiny_files_with_progress_bars(double, tmp_path, capsys):
    # Progress bars on (no -q): a file with no samples (its length unknown to the bar) is an error
    # naming it, not a crash in the bar; a 10-sample file transcribes to no notes.
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 22050)
    sf.write(tmp_path / "tiny.wav", np.zeros(10, np.float32), 22050)
    assert main(["transcribe", str(tmp_path / "empty.wav"), "-o", str(tmp_path / "e"), "--model", str(double)]) == 1
    assert "empty.wav: file holds no audio samples" in capsys.readouterr().err
    assert main(["transcribe", str(tmp_path / "tiny.wav"), "-o", str(tmp_path / "t"), "--model", str(double)]) == 0
    assert "tiny.wav: 0 notes" in capsys.readouterr().out


def test_info(double, capsys):
    # info lists the default model (installed or not) and describes a given one with thresholds.
    assert main(["info", "--model", str(double)]) == 0
    out = capsys.readouterr().out
    assert "basicamt" in out and "double" in out and "onset_threshold=0.5" in out
    assert main(["info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"][0]["name"] == "basicamt"


def test_info_shows_shipped_decoder_options(double, tmp_path, capsys):
    import shutil

    from septimbre.testing import write_test_config

    shutil.copy(double, tmp_path / "m.onnx")
    write_test_config(tmp_path / "m.json", infer_onsets=False, recover_onsetless=True)
    assert main(["info", "--model", str(tmp_path / "m.onnx")]) == 0
    assert "decoder options: infer_onsets=False, recover_onsetless=True" in capsys.readouterr().out


def test_python_dash_m_and_export_delegation():
    # `python -m septimbre` works; export-onnx hands its arguments to septimbre.export.
    out = subprocess.run([sys.executable, "-m", "septimbre", "--help"], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "transcribe" in out.stdout and "export-onnx" in out.stdout
    out = subprocess.run([sys.executable, "-m", "septimbre", "export-onnx", "--help"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0 and "--random-init" in out.stdout
    assert subprocess.run([sys.executable, "-m", "septimbre", "transcribe"], capture_output=True, check=False).returncode == 2
