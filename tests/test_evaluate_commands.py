"""The evaluation plumbing: references, runner protocol, RSS reading, tables and argument parsing.

No peer and no model is run here (they are measured by the commands, not tested): the runner
protocol is exercised with a trivial transcriber on a tiny WAV.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from septimbre.evaluate import metrics as M
from septimbre.evaluate.benchmark import BenchRow, _find_param_count, format_bench_table, model_sizes
from septimbre.evaluate.cli import build_parser
from septimbre.evaluate.references import (
    roll_to_notes,
    synthetic_pieces,
    trios_nopiano_pieces,
    trios_pieces,
    trios_stem_pieces,
)
from septimbre.evaluate.systems import RUNNERS_DIR, SystemFailed, parse_runner_output, run_system
from septimbre.evaluate.transcription import (
    SetResult,
    format_context_recall,
    format_part_recall,
    format_polyphony,
    format_table,
)
from septimbre.utils.constants import FRAME_RATE, MIDI_MIN, N_PITCHES, SAMPLE_RATE
from septimbre.utils.errors import MissingResourceError

sf = pytest.importorskip("soundfile")


def _wav(path: Path, seconds: float) -> Path:
    rng = np.random.default_rng(0)
    sf.write(path, (0.01 * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32), SAMPLE_RATE)
    return path


def test_roll_to_notes_hand_made():
    roll = np.zeros((2, N_PITCHES, 10), np.uint8)
    roll[0, 0, 1:4] = [2, 1, 1]  # one note, frames 1..3
    roll[0, 5, 2:8] = [2, 1, 2, 1, 1, 1]  # a re-attack at frame 4 splits it in two
    roll[1, 5, 8:10] = [1, 1]  # sustain after silence, to the end: a note without an onset mark
    got = roll_to_notes(roll)
    want = np.array([
        (1, 4, MIDI_MIN), (2, 4, MIDI_MIN + 5), (4, 8, MIDI_MIN + 5), (8, 10, MIDI_MIN + 5),
    ], dtype=np.float64)
    want[:, :2] /= FRAME_RATE
    np.testing.assert_allclose(got, want)
    assert roll_to_notes(np.zeros((N_PITCHES, 4), np.uint8)).shape == (0, 3)


def _write_midi_parts(folder: Path, parts: dict) -> None:
    """One ``<name>.mid`` per part in ``folder``: ``{name: [(start_s, end_s, pitch), ...]}``."""
    pretty_midi = pytest.importorskip("pretty_midi")
    for name, notes in parts.items():
        pm = pretty_midi.PrettyMIDI()
        inst = pretty_midi.Instrument(program=0)
        inst.notes = [pretty_midi.Note(velocity=80, pitch=p, start=s, end=e) for s, e, p in notes]
        pm.instruments.append(inst)
        pm.write(str(folder / f"{name}.mid"))


def test_trios_reader_merges_pitched_parts_and_drops_drums(tmp_path):
    piece = tmp_path / "piece"
    piece.mkdir()
    _wav(piece / "mix.flac", 0.5)
    _write_midi_parts(piece, {"violin": [(0.0, 0.5, 76)], "piano": [(0.1, 0.3, 60), (0.1, 0.3, 64)],
                              "kick": [(0.0, 0.1, 36)]})
    (p,) = trios_pieces(tmp_path)
    assert p.name == "piece" and p.audio_path == piece / "mix.flac"
    np.testing.assert_allclose(p.reference, [(0.0, 0.5, 76), (0.1, 0.3, 60), (0.1, 0.3, 64)], atol=1e-3)
    assert p.parts == ("violin", "piano", "piano")  # each row's instrument, in the sorted order
    assert p.n_instruments == 2  # the drum file is not an instrument of the mix


def test_trios_stems_pair_each_part_recording_with_its_own_notes(tmp_path):
    piece = tmp_path / "piece"
    piece.mkdir()
    for name in ("mix", "violin", "kick"):  # the piano part has no recording: skipped
        _wav(piece / f"{name}.flac", 0.5)
    _write_midi_parts(piece, {"violin": [(0.0, 0.5, 76)], "piano": [(0.1, 0.3, 60)], "kick": [(0.0, 0.1, 36)]})
    (p,) = trios_stem_pieces(tmp_path)
    assert p.set_name == "trios-stems" and p.name == "piece/violin" and p.audio_path == piece / "violin.flac"
    np.testing.assert_allclose(p.reference, [(0.0, 0.5, 76)], atol=1e-3)
    assert p.n_instruments == 1 and p.parts is None
    (piece / "violin.flac").unlink()
    with pytest.raises(MissingResourceError):
        trios_stem_pieces(tmp_path)


def test_trios_nopiano_sums_the_melodic_part_recordings_without_the_piano(tmp_path):
    piece = tmp_path / "trio"
    piece.mkdir()
    n = SAMPLE_RATE // 2
    tone = {name: (0.1 * np.sin(2 * np.pi * f * np.arange(n) / SAMPLE_RATE)).astype(np.float32)
            for name, f in (("violin", 659.3), ("horn", 349.2), ("piano", 261.6))}
    for name, x in tone.items():
        sf.write(piece / f"{name}.flac", x, SAMPLE_RATE, subtype="PCM_24")
    sf.write(piece / "mix.flac", sum(tone.values()), SAMPLE_RATE, subtype="PCM_24")
    _write_midi_parts(piece, {"violin": [(0.0, 0.5, 76)], "horn": [(0.0, 0.5, 65)], "piano": [(0.1, 0.3, 60)]})
    solo = tmp_path / "solo"  # one melodic part beside the piano: left out
    solo.mkdir()
    for name in ("mix", "saxophone", "piano"):
        _wav(solo / f"{name}.flac", 0.5)
    _write_midi_parts(solo, {"saxophone": [(0.0, 0.5, 70)], "piano": [(0.1, 0.3, 60)]})
    out = tmp_path / "out"
    out.mkdir()
    (p,) = trios_nopiano_pieces(tmp_path, out)
    assert p.set_name == "trios-nopiano" and p.name == "trio" and p.n_instruments == 2
    np.testing.assert_allclose(p.reference, [(0.0, 0.5, 65), (0.0, 0.5, 76)], atol=1e-3)
    assert p.parts == ("horn", "violin")
    audio, sr = sf.read(p.audio_path, dtype="float32")
    assert sr == SAMPLE_RATE
    np.testing.assert_allclose(audio, tone["violin"] + tone["horn"], atol=1e-4)  # the piano is not in it
    (piece / "horn.flac").unlink()
    with pytest.raises(MissingResourceError, match="non-piano"):
        trios_nopiano_pieces(tmp_path, out)


def test_synthetic_reader(tmp_path):
    (tmp_path / "examples").mkdir()
    rolls = np.zeros((3, N_PITCHES, 5), np.uint8)
    rolls[0, 33, 1:3] = [2, 1]  # A3... row 33 is MIDI 57
    mix = np.zeros(5 * 256, np.float16)
    np.savez(tmp_path / "examples" / "000000.npz", mix=mix, rolls=rolls)
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"index": 0}) + "\n")
    (p,) = list(synthetic_pieces(tmp_path, "synthetic-val", tmp_path))
    assert sf.info(str(p.audio_path)).samplerate == SAMPLE_RATE
    np.testing.assert_allclose(p.reference, [(1 / FRAME_RATE, 3 / FRAME_RATE, MIDI_MIN + 33)])
    assert p.n_instruments == 3  # one roll per instrument, silent ones included


def _run_fake_runner(tmp_path: Path, wavs: list[Path], *extra: str) -> dict:
    """The shared runner driver with a transcriber that returns one fixed note per file."""
    code = (
        f"import sys; sys.path.insert(0, {str(RUNNERS_DIR)!r})\n"
        "from _runner_common import main\n"
        "raise SystemExit(main('fake', '0', lambda a: a.threads, lambda m, p: [(0.1, 0.2, 60.4)]))\n"
    )
    out = tmp_path / "out.json"
    cmd = [sys.executable, "-c", code, "--out", str(out), *extra, *map(str, wavs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # progress goes to stderr
    return json.loads(out.read_text())


def test_runner_protocol_round_trip(tmp_path):
    wavs = [_wav(tmp_path / "a.wav", 0.5), _wav(tmp_path / "b.wav", 0.25)]
    doc = _run_fake_runner(tmp_path, wavs, "--threads", "2", "--warmup")
    run = parse_runner_output(doc)
    assert run.system == "fake" and run.threads == 2 and run.warmup_s is not None
    assert [f.audio_s for f in run.files] == pytest.approx([0.5, 0.25], abs=1 / SAMPLE_RATE)
    assert run.files[0].notes == ((0.1, 0.2, 60),)  # pitch rounded to an int
    assert run.maxrss_bytes > 10 * 2**20  # a Python with numpy takes more than 10 MiB
    row = BenchRow.from_run(run)
    assert row.audio_s == pytest.approx(0.75, abs=2 / SAMPLE_RATE)
    assert row.rtf == pytest.approx(row.seconds / row.audio_s)
    assert 0 <= run.files[0].cpu_seconds and row.cpu_rtf == pytest.approx(row.cpu_seconds / row.audio_s)


def test_runner_repeats_report_the_median_pass(tmp_path):
    # passes that sleep 1.0, 0.2 and 0.1 s: the median 0.2 s is neither the first, the last, the
    # fastest, the slowest nor the mean (0.43). A sleep never ends early, and 0.2 s of slack keeps
    # a loaded machine's wake-up delays from failing the test.
    code = (
        f"import sys, time; sys.path.insert(0, {str(RUNNERS_DIR)!r})\n"
        "from _runner_common import main\n"
        "sleeps = iter([1.0, 0.2, 0.1])\n"
        "def transcribe(m, p):\n"
        "    time.sleep(next(sleeps)); return [(0.1, 0.2, 60)]\n"
        "raise SystemExit(main('fake', '0', lambda a: None, transcribe))\n"
    )
    wav = _wav(tmp_path / "a.wav", 0.25)
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-c", code, "--out", str(out), "--repeats", "3", str(wav)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    (f,) = json.loads(out.read_text())["files"]
    assert f["passes"] == 3 and 0.2 <= f["seconds"] < 0.4
    bad = subprocess.run([sys.executable, "-c", code, "--out", str(out), "--repeats", "0", str(wav)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode != 0 and "--repeats" in bad.stderr


def test_peak_rss_reading_sees_a_large_allocation():
    code = (
        f"import sys; sys.path.insert(0, {str(RUNNERS_DIR)!r})\n"
        "from _runner_common import peak_rss_bytes\n"
        "before = peak_rss_bytes(); buf = bytearray(b'x') * (200 * 2**20)\n"
        "print(before, peak_rss_bytes())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    before, after = map(int, out.stdout.split())
    # 200 MiB written: the peak rises by most of it (freed pages may be reused) and passes it.
    assert after >= 200 * 2**20 and after - before >= 120 * 2**20


def test_peak_rss_is_not_inherited_from_a_large_parent():
    # ru_maxrss survives fork+exec on Linux; the runner's figure must not include this 300 MiB.
    held = bytearray(b"x") * (300 * 2**20)
    code = "import sys; sys.path.insert(0, %r)\nfrom _runner_common import peak_rss_bytes\nprint(peak_rss_bytes())\n"
    out = subprocess.run([sys.executable, "-c", code % str(RUNNERS_DIR)], capture_output=True, text=True,
                         check=True, timeout=60)
    assert len(held) and int(out.stdout) < 150 * 2**20


def test_missing_peer_fails_clearly(tmp_path):
    with pytest.raises(SystemFailed, match="setup-peers"):
        run_system("basic-pitch", [tmp_path / "x.wav"], root=tmp_path)


def test_bench_table_and_sizes(tmp_path):
    rows = [BenchRow("septimbre", 1, audio_s=100.0, seconds=0.5, cpu_seconds=0.25, load_s=0.1,
                     maxrss_bytes=150 * 2**20),
            BenchRow("basic-pitch", 2, error="not installed")]
    (tmp_path / "m.onnx").write_bytes(b"\0" * 1234)
    (tmp_path / "m.json").write_text(json.dumps({"model": {"n_parameters": 19000}}))
    sizes = model_sizes(tmp_path)
    assert sizes == [{"model": "m", "onnx_bytes": 1234, "parameters": 19000}]
    text = format_bench_table(rows, sizes)
    assert "0.0050" in text and "0.0025" in text and "150" in text and "FAILED: not installed" in text and "19000" in text
    assert _find_param_count({"a": {"parameter_count": 7}}) == 7 and _find_param_count({"x": 1}) is None


def test_align_columns_pads_left_and_right_and_keeps_notes_unpadded():
    from septimbre.evaluate.table import align_columns

    text = align_columns([["name", "n", "x", "y"], ["a", "10", "0.5", "7"], ["a-long-name", "2", "FAILED: gone"]], left=1)
    lines = text.splitlines()
    assert lines[0] == "name          n    x  y"
    assert lines[1] == "-" * len(lines[0])
    assert lines[2] == "a            10  0.5  7"  # numbers right-aligned under their headers
    # a note row aligns its leading cells (and widens their columns), then its note follows as is
    assert lines[3] == "a-long-name   2  FAILED: gone"
    assert align_columns([]) == ""


def test_transcription_table():
    ref, est = [(0.0, 1.0, 60), (1.0, 2.0, 62)], [(0.0, 1.0, 60), (1.0, 2.0, 74)]
    res = SetResult(name="trios", pieces=["a", "b"])
    res.per_piece["sys"] = {"a": M.evaluate_notes(ref, est), "b": M.evaluate_notes(ref, ref)}
    res.failures["other"] = "no weights"
    text = format_table([res])
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["set", "piece", "system", "note"]
    assert any(line.split()[:3] == ["trios", "a", "sys"] and "0.500" in line for line in lines)
    mean_line = next(line for line in lines if " mean " in line)
    assert mean_line.split()[5] == "0.750"  # note F1: mean of 0.5 and 1.0
    assert "FAILED: no weights" in text
    assert json.loads(json.dumps(res.to_dict()))["systems"]["sys"]["pooled"]["n_matched"] == 3
    assert format_part_recall([res]) == ""  # no instrument labels: no recall-by-instrument table


def test_recall_by_instrument_table():
    res = SetResult(name="trios", pieces=["a"])
    ref, est = [(0.0, 1.0, 60), (0.0, 1.0, 64), (1.0, 2.0, 62)], [(0.0, 1.0, 60), (1.0, 2.0, 62)]
    res.per_piece["sys"] = {"a": M.evaluate_notes(ref, est)}
    res.part_recall["sys"] = {"a": M.recall_by_part(ref, est, ("piano", "horn", "piano"))}
    lines = format_part_recall([res]).splitlines()
    assert lines[0].split() == ["set", "piece", "instrument", "notes", "R", "sys"]
    assert lines[2].split() == ["trios", "a", "piano", "2", "1.000"]
    assert lines[3].split() == ["trios", "a", "horn", "1", "0.000"]
    doc = json.loads(json.dumps(res.to_dict()))["systems"]["sys"]["recall_by_part"]
    assert doc == {"a": {"piano": {"matched": 2, "total": 2}, "horn": {"matched": 0, "total": 1}}}


def test_precision_recall_by_number_of_instruments_table():
    one, two = [(0.0, 1.0, 60)], [(0.0, 1.0, 60), (0.0, 1.0, 67)]
    res = SetResult(name="synthetic-val", pieces=["a", "b", "c"], n_instruments={"a": 1, "b": 2, "c": 2},
                    n_doubled={"a": 0, "b": 0, "c": 1})
    res.per_piece["sys"] = {"a": M.evaluate_notes(one, one), "b": M.evaluate_notes(two, one),
                            "c": M.evaluate_notes(two, [(0.0, 1.0, 60), (0.0, 1.0, 72)])}
    lines = format_polyphony([res]).splitlines()
    assert lines[0].split() == ["set", "instruments", "pieces", "notes", "doubled", "P", "sys", "R", "sys"]
    assert lines[2].split() == ["synthetic-val", "1", "1", "1", "0.000", "1.000", "1.000"]
    # two-instrument pieces pooled: 2 of 3 estimates right, 2 of 4 references found, 1 of 4 doubled
    assert lines[3].split() == ["synthetic-val", "2", "2", "4", "0.250", "0.667", "0.500"]
    assert json.loads(json.dumps(res.to_dict()))["n_instruments"] == {"a": 1, "b": 2, "c": 2}
    assert format_polyphony([SetResult(name="x", pieces=["a"])]) == ""  # counts unknown: no table


def test_onset_context_finds_notes_starting_on_a_lower_notes_partials():
    ref = [(0.0, 1.0, 48), (0.02, 1.0, 60), (0.04, 1.0, 67),  # C3 with its octave (20 ms) and twelfth (40 ms)
           (1.0, 2.0, 50), (1.03, 2.0, 54),                   # a third: a chord, not on a partial
           (2.0, 3.0, 60), (2.3, 3.0, 72)]                    # an octave 300 ms later: alone
    assert M.onset_context(ref) == ["chord", "on-partial", "on-partial", "chord", "chord", "alone", "alone"]
    assert M.onset_context([(0.0, 1.0, 48), (0.06, 1.0, 60)]) == ["alone", "alone"]  # beyond 50 ms
    assert M.onset_context([]) == []


def test_onset_context_matches_the_all_pairs_definition_on_random_notes():
    rng = np.random.default_rng(3)
    n = 400
    start = np.round(rng.uniform(0, 20, n), 2)  # rounded: many exact ties and 50 ms gaps
    ref = np.stack([start, start + 0.5, rng.integers(40, 80, n)], axis=1)
    together = np.abs(start[:, None] - start[None, :]) <= M.ONSET_TOLERANCE_S
    np.fill_diagonal(together, False)
    below = np.isin(ref[:, None, 2] - ref[None, :, 2], M.GHOST_INTERVALS)
    want = np.where((together & below).any(1), "on-partial", np.where(together.any(1), "chord", "alone"))
    got = M.onset_context(ref)
    assert got == [str(x) for x in want]
    assert {"on-partial", "chord", "alone"} <= set(got)


def test_reattacked_notes_repeat_or_enter_a_sounding_pitch():
    ref = [(0.0, 1.0, 60), (1.0, 2.0, 60),      # a repeat with no break: re-attack
           (2.05, 3.0, 60),                     # 50 ms after the last one ended: re-attack
           (3.2, 4.0, 60),                      # 200 ms later: a new note
           (4.0, 6.0, 64), (5.0, 6.0, 64),      # enters a pitch another instrument holds: re-attack
           (7.0, 8.0, 67), (7.02, 8.0, 67)]     # a unison doubling, not a re-attack
    assert M.reattacked(ref).tolist() == [False, True, True, False, False, True, False, False]
    assert M.reattacked([(0.0, 1.0, 60)]).tolist() == [False]
    assert M.reattacked([]).shape == (0,)


def test_recall_by_onset_context_table():
    ref = [(0.0, 1.0, 48), (0.0, 1.0, 60), (1.0, 2.0, 50), (1.0, 2.0, 54), (2.0, 3.0, 62), (3.0, 4.0, 62)]
    est = [(0.0, 1.0, 48), (1.0, 2.0, 50), (1.0, 2.0, 54), (2.0, 4.0, 62)]  # the octave and the repeat lost

    def counts(r, e):
        hit = M.matched_reference(r, e)
        again = M.reattacked(r)
        return {**M.count_by_label(hit, M.onset_context(r)), M.REATTACK: (int(hit[again].sum()), int(again.sum()))}

    res = SetResult(name="synthetic-val", pieces=["a", "b"])
    res.per_piece["sys"] = {"a": M.evaluate_notes(ref, est), "b": M.evaluate_notes(ref[:1], [])}
    res.context_recall["sys"] = {"a": counts(ref, est), "b": counts(ref[:1], [])}
    lines = format_context_recall([res]).splitlines()
    assert lines[0].split() == ["set", "onset", "context", "notes", "R", "sys"]
    assert [line.split() for line in lines[2:]] == [
        ["synthetic-val", "alone", "3", "0.333"],  # piece a's first D4 found, its repeat and piece b's C3 missed
        ["synthetic-val", "chord", "3", "1.000"],
        ["synthetic-val", "on-partial", "1", "0.000"],
        ["synthetic-val", "re-attack", "1", "0.000"],
    ]
    doc = json.loads(json.dumps(res.to_dict()))["systems"]["sys"]["recall_by_onset_context"]
    assert doc["a"]["on-partial"] == {"matched": 0, "total": 1}
    assert doc["a"]["re-attack"] == {"matched": 0, "total": 1}
    assert format_context_recall([SetResult(name="x", pieces=["a"])]) == ""  # nothing ran: no table


def test_doubled_notes_are_unisons_within_the_onset_tolerance():
    ref = [(0.0, 1.0, 60), (0.03, 0.8, 60),  # unison, onsets 30 ms apart: one doubled
           (0.0, 1.0, 64), (0.2, 1.0, 64),   # same pitch 200 ms later: a new note
           (0.0, 1.0, 67), (0.0, 1.0, 67), (0.01, 1.0, 67)]  # three instruments on one note: two doubled
    assert M.count_doubled_notes(ref) == 3
    assert M.count_doubled_notes([(0.0, 1.0, 60)]) == 0 and M.count_doubled_notes([]) == 0


def test_argument_parsing():
    p = build_parser()
    a = p.parse_args(["benchmark", "x.wav", "y.wav", "--threads", "1", "2", "--peers", "basic-pitch"])
    assert a.files == [Path("x.wav"), Path("y.wav")] and a.threads == [1, 2] and a.peers == ["basic-pitch"]
    a = p.parse_args(["transcription", "--sets", "trios,unseen", "--peers", "", "--no-ours"])
    assert a.sets == ["trios", "unseen"] and a.peers == [] and a.no_ours
    assert p.parse_args(["benchmark"]).threads == [1, 2]
    for bad in (["transcription", "--peers", "nope"], ["transcription", "--sets", "maestro"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)


def test_septimbre_path_end_to_end_with_the_test_double(tmp_path, tone_trios, capsys):
    # The whole ours-path of `transcription` and `benchmark`: runner subprocess, septimbre.Transcriber
    # on the tiny ONNX test double (septimbre.testing), scoring, tables. A 1 s A4 tone must be found.
    pytest.importorskip("onnx")
    from septimbre.evaluate.cli import main

    from septimbre.testing import build_test_double, write_test_config

    model = build_test_double(tmp_path / "double" / "basicamt.onnx")
    write_test_config(model.with_suffix(".json"))
    piece = tone_trios / "tone"

    out = tmp_path / "res.json"
    rc = main(["transcription", "--trios", str(tone_trios), "--peers", "", "--model", str(model),
               "--out", str(out)])
    assert rc == 0, capsys.readouterr()
    scores = json.loads(out.read_text())["trios"]["systems"]["septimbre"]["per_piece"]["tone"]
    assert scores["n_ref"] == 1 and scores["n_matched"] == 1  # the tone, onset within 50 ms
    text = capsys.readouterr().out
    assert "septimbre" in text and "Note recall by instrument" in text
    parts = json.loads(out.read_text())["trios"]["systems"]["septimbre"]["recall_by_part"]
    assert parts == {"tone": {"violin": {"matched": 1, "total": 1}}}

    rc = main(["benchmark", str(piece / "mix.flac"), "--threads", "1", "--peers", "", "--model", str(model)])
    text = capsys.readouterr().out
    assert rc == 0 and "septimbre" in text and "basicamt" in text  # timing row and the size row


def test_long_file_is_deterministic_and_has_its_tones(tmp_path):
    import soundfile as sf

    from septimbre.evaluate.cli import main
    from septimbre.evaluate.long_audio import TONE_SECONDS, _tone_pitches
    from septimbre.utils.constants import midi_to_hz

    out = tmp_path / "long.flac"
    assert main(["long-file", "--minutes", "0.1", "--out", str(out)]) == 0
    audio, sr = sf.read(out, dtype="float32")
    assert len(audio) == round(6.0 * sr)
    again = tmp_path / "again.flac"
    assert main(["long-file", "--minutes", "0.1", "--out", str(again)]) == 0
    assert np.array_equal(audio, sf.read(again, dtype="float32")[0])
    # the strongest spectral peaks of the second segment are its three tones
    seg = audio[int(TONE_SECONDS * sr):int(2 * TONE_SECONDS * sr)]
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    freqs = np.fft.rfftfreq(len(seg), 1 / sr)
    peaks = sorted(freqs[np.argsort(spectrum)[-40:]])
    want = midi_to_hz(_tone_pitches(3, 0)[1])
    for f in want:
        assert min(abs(p - f) for p in peaks) < 1.0
    assert main(["long-file", "--minutes", "0", "--out", str(tmp_path / "x.flac")]) == 2


def test_mistimed_offsets_pair_each_late_note_with_its_reference():
    from septimbre.evaluate.stages import mistimed_offsets

    ref = np.array([[1.0, 2.0, 60], [3.0, 4.0, 64], [5.0, 6.0, 67]])
    est = np.array([[1.01, 2.0, 60],   # matched (10 ms)
                    [3.12, 4.0, 64],   # 120 ms late: mistimed
                    [4.9, 6.0, 67],    # 100 ms early: mistimed
                    [3.5, 3.9, 72]])   # another pitch: not mistimed
    np.testing.assert_allclose(sorted(mistimed_offsets(ref, est)), [-0.1, 0.12], atol=1e-9)
    assert len(mistimed_offsets(ref, ref)) == 0


def test_septimbre_runner_imports_the_evaluators_package(tmp_path, monkeypatch):
    # The runner imports the package $SEPTIMBRE_PACKAGE_DIR names, not whatever `import septimbre`
    # finds: a fake package there (version "fake-9") is the one that transcribes. run_system sets
    # the variable to the package this process imported.
    fake = tmp_path / "pkg" / "septimbre"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "__version__ = 'fake-9'\n"
        "class SeptimbreError(Exception):\n    pass\n"
        "class _Note:\n    start_s, end_s, pitch = 0.5, 1.0, 60\n"
        "class _Result:\n    notes = [_Note()]\n"
        "class Transcriber:\n"
        "    def __init__(self, threads=None):\n        pass\n"
        "    def transcribe(self, path, separate=True):\n        return _Result()\n")
    wav = _wav(tmp_path / "x.wav", 1.0)
    out = tmp_path / "notes.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SEPTIMBRE_PACKAGE_DIR"] = str(fake)
    subprocess.run([sys.executable, str(RUNNERS_DIR / "septimbre_runner.py"), "--out", str(out), str(wav)],
                   env=env, check=True, capture_output=True, timeout=120, cwd=tmp_path)
    doc = json.loads(out.read_text())
    assert doc["version"] == "fake-9" and doc["files"][0]["notes"] == [[0.5, 1.0, 60]]

    import septimbre
    from septimbre.evaluate.systems import runner_env

    assert runner_env("septimbre", 1)["SEPTIMBRE_PACKAGE_DIR"] == str(Path(septimbre.__file__).resolve().parent)
    monkeypatch.delenv("SEPTIMBRE_PACKAGE_DIR", raising=False)
    assert "SEPTIMBRE_PACKAGE_DIR" not in runner_env("basic-pitch", 1)
