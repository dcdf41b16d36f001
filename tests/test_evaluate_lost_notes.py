"""``evaluate lost-notes``: each missed reference note put down to one cause."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from septimbre.evaluate.lost_notes import CAUSES, LostRow, format_lost, lost_note_causes
from septimbre.utils.constants import FRAME_RATE, MIDI_MIN


def _frames(seconds: float) -> int:
    return int(round(seconds * FRAME_RATE))


def test_each_missed_note_gets_the_first_cause_that_fits():
    frame = np.zeros((84, _frames(8.0)), np.float32)
    frame[65 - MIDI_MIN, _frames(4.05):_frames(4.5)] = 0.5   # heard, no estimate: frame-only
    frame[67 - MIDI_MIN, _frames(5.0):_frames(5.5)] = 0.2    # between half the threshold and it: weak
    frame[69 - MIDI_MIN, _frames(6.0):_frames(6.5)] = 0.1    # under half: absent
    frame[71 - MIDI_MIN, _frames(7.2):_frames(7.5)] = 0.9    # strong, but after the 0.15 s looked at
    ref = np.array([
        [1.00, 1.5, 60],   # found
        [1.02, 1.5, 60],   # a unison of the found note: doubled
        [2.00, 2.5, 62],   # inside the estimate that started at 1.5 s, the pitch silent before: overhang
        [3.00, 3.5, 64],   # an estimate of its pitch 0.2 s later: late
        [4.00, 4.5, 65],
        [5.00, 5.5, 67],
        [6.00, 6.5, 69],
        [7.00, 7.5, 71],
        [7.60, 7.8, 74],   # found ...
        [7.80, 7.95, 74],  # ... and repeated, but the estimate runs through: re-attack
    ])
    est = np.array([[1.0, 1.5, 60], [1.5, 2.5, 62], [3.2, 3.5, 64], [7.6, 7.95, 74]])
    causes = lost_note_causes(ref, est, frame, frame_threshold=0.3)
    assert causes == [None, "doubled", "overhang", "late", "frame-only", "weak", "absent", "absent", None,
                      "re-attack"]


def test_two_missed_unisons_are_not_put_down_to_the_doubling():
    frame = np.zeros((84, _frames(2.0)), np.float32)
    ref = np.array([[1.0, 1.5, 60], [1.01, 1.5, 60]])
    assert lost_note_causes(ref, np.zeros((0, 3)), frame, frame_threshold=0.3) == ["absent", "absent"]


def test_table_adds_a_total_line():
    rows = [LostRow("p", "violin", 10, 7, {c: (3 if c == "weak" else 0) for c in CAUSES}),
            LostRow("p", "piano", 5, 4, {c: (1 if c == "re-attack" else 0) for c in CAUSES})]
    lines = format_lost(rows).splitlines()
    assert [ln.split()[1] for ln in lines[2:4]] == ["violin", "piano"]
    assert lines[-2].split()[:4] == ["all", "15", "11", "4"]
    cells = dict(zip(CAUSES, lines[-2].split("|")[1].split()))
    assert cells["weak"] == "3" and cells["re-attack"] == "1" and cells["absent"] == "0"
    shares = dict(zip(CAUSES, lines[-1].split("|")[1].split()))
    assert lines[-1].split("|")[0].split()[-2:] == ["73.3", "26.7"] and shares["weak"] == "20.0"
    # Without detail: the header, the total and its shares only.
    assert format_lost(rows, detail=False).splitlines()[2:] == lines[-2:]


def test_command_on_the_test_double(tmp_path, tone_trios, capsys):
    # The A4 tone is in the audio and is found; a cello note that is not in it is lost, unheard.
    pytest.importorskip("onnx")
    pretty_midi = pytest.importorskip("pretty_midi")
    from septimbre.evaluate.cli import main
    from septimbre.testing import build_test_double, write_test_config

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=42)
    inst.notes = [pretty_midi.Note(velocity=80, pitch=40, start=0.5, end=1.0)]
    pm.instruments.append(inst)
    pm.write(str(tone_trios / "tone" / "cello.mid"))
    model = build_test_double(tmp_path / "double" / "basicamt.onnx")
    write_test_config(model.with_suffix(".json"))

    assert main(["lost-notes", "--trios", str(tone_trios), "--model", str(model)]) == 0
    lines = {ln.split()[1]: ln.split() for ln in capsys.readouterr().out.splitlines() if ln.startswith("tone")}
    assert lines["violin"][2:5] == ["1", "1", "0"]
    assert lines["cello"][2:5] == ["1", "0", "1"] and lines["cello"][-1] == "1"  # absent

    # trios-stems: each part's own recording (the violin's is the tone; the cello has none: skipped).
    shutil.copy(tone_trios / "tone" / "mix.flac", tone_trios / "tone" / "violin.flac")
    assert main(["lost-notes", "--sets", "trios-stems", "--trios", str(tone_trios), "--model", str(model)]) == 0
    rows = [ln.split() for ln in capsys.readouterr().out.splitlines() if ln.startswith("tone")]
    assert rows == [["tone", "violin", "1", "1", "0", "|", *["0"] * len(CAUSES)]]
