"""Note / Transcription containers: MIDI, CSV and JSON round trips, plot, validation."""

from __future__ import annotations

import pretty_midi
import pytest
from septimbre.utils.errors import NoteFileError, ParameterError
from septimbre.utils.notes import Note, Track, Transcription


def sample() -> Transcription:
    notes = [
        Note(1.25, 2.0, 64, 90, 0.8, 1),
        Note(0.5, 1.0, 60, 100, 0.9, 0),
        Note(0.5, 0.75, 67, 40, 0.3, 0),
        Note(3.0, 3.5, 48, 127, 1.0, 1),
    ]
    return Transcription(notes, (Track(0, "flute", 73), Track(1, "cello", 42)), duration_s=4.0,
                         sample_rate=44100, source="x.wav", metadata={"model": "test"})


def test_notes_sorted_and_tracks():
    # Notes are kept sorted by start (then track, pitch); per-track views keep that order.
    t = sample()
    assert [n.start_s for n in t.notes] == [0.5, 0.5, 1.25, 3.0]
    assert [n.pitch for n in t.track_notes(0)] == [60, 67]
    assert len(t) == 4


def test_midi_round_trip(tmp_path):
    # One named instrument per track with its program; times survive within a MIDI tick (~0.5 ms).
    t = sample()
    path = t.to_midi(tmp_path / "x.mid")
    pm = pretty_midi.PrettyMIDI(str(path))
    assert [(i.name, i.program) for i in pm.instruments] == [("flute", 73), ("cello", 42)]
    back = Transcription.from_midi(path)
    assert [tr.name for tr in back.tracks] == ["flute", "cello"]
    assert len(back.notes) == len(t.notes)
    for a, b in zip(t.notes, back.notes):
        assert (a.pitch, a.velocity, a.track) == (b.pitch, b.velocity, b.track)
        assert b.start_s == pytest.approx(a.start_s, abs=1e-3)
        assert b.end_s == pytest.approx(a.end_s, abs=1e-3)


def test_empty_track_kept_in_midi(tmp_path):
    # A track with no notes is still written (a named MIDI track), so track numbering is kept for
    # MIDI readers; pretty_midi itself skips note-less tracks when reading.
    import mido

    t = Transcription((Note(0.0, 1.0, 60, 80, 0.5, 1),), (Track(0, "a"), Track(1, "b")), duration_s=1.0)
    mid = mido.MidiFile(str(t.to_midi(tmp_path / "e.mid")))
    names = [m.name for tr in mid.tracks for m in tr if m.type == "track_name"]
    assert names[-2:] == ["a", "b"]


def test_csv_and_json_round_trip(tmp_path):
    # CSV keeps every note field exactly; JSON keeps tracks, duration and metadata too.
    t = sample()
    c = Transcription.from_csv(t.to_csv(tmp_path / "x.csv"))
    assert c.notes == t.notes
    j = Transcription.from_json(t.to_json(tmp_path / "x.json"))
    assert j == t
    assert j.metadata["model"] == "test"


def test_loaders_read_minimal_csv_and_name_the_problem_in_bad_files(tmp_path):
    # A CSV with only start, end and pitch reads with default velocity, confidence and track; a
    # file that is not notes raises NoteFileError (a SeptimbreError and ValueError) naming it.
    (tmp_path / "min.csv").write_text("start_s,end_s,pitch\n0.1,0.5,60\n")
    assert Transcription.from_csv(tmp_path / "min.csv").notes == (Note(0.1, 0.5, 60, 100, 1.0, 0),)
    bad = {
        "header.csv": ("onset,offset\n0.1,0.5\n", Transcription.from_csv, "no column start_s, end_s, pitch"),
        "row.csv": ("start_s,end_s,pitch\n0.1,0.5,60\n0.6,0.5,61\n", Transcription.from_csv, "line 3"),
        "value.csv": ("start_s,end_s,pitch\n0.1,0.5,C4\n", Transcription.from_csv, "line 2"),
        "notes.json": ('{"notes": [{"start_s": 1}]}', Transcription.from_json, "not a septimbre transcription"),
        "text.json": ("not json", Transcription.from_json, "not a septimbre transcription"),
        "text.mid": ("not midi", Transcription.from_midi, "cannot read as MIDI"),
    }
    for name, (text, load, needle) in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(NoteFileError, match=needle) as info:
            load(tmp_path / name)
        assert name in str(info.value) and isinstance(info.value, ValueError)
    with pytest.raises(FileNotFoundError):
        Transcription.from_midi(tmp_path / "missing.mid")


def test_plot_writes_png(tmp_path):
    # The piano roll is a PNG file (matplotlib, Agg backend).
    path = sample().plot(tmp_path / "x.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_validation():
    # Impossible notes and inconsistent tracks are refused with ParameterError.
    with pytest.raises(ParameterError):
        Note(1.0, 1.0, 60)
    with pytest.raises(ParameterError):
        Note(0.0, 1.0, 128)
    with pytest.raises(ParameterError):
        Note(0.0, 1.0, 60, velocity=0)
    with pytest.raises(ParameterError):
        Transcription((Note(0.0, 1.0, 60, track=2),), (Track(0, "a"),))
    # Without explicit tracks, one default track per used index is made.
    assert len(Transcription((Note(0.0, 1.0, 60, track=1),)).tracks) == 2
