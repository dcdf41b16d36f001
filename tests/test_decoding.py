"""Note decoder on hand-built posteriorgrams (one comment per case), streaming equality, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from septimbre.utils.constants import FRAME_RATE, MIDI_MIN, N_PITCHES, frames_to_seconds
from septimbre.utils.decoding import StreamingDecoder, decode_events, decode_notes
from septimbre.utils.errors import ParameterError

# 9 frames = 104.5 ms >= 100 ms; 8 frames = 92.9 ms is too short.
KW = {"onset_threshold": 0.5, "frame_threshold": 0.3, "min_note_ms": 100.0}
ROW = 40  # MIDI 64


def grams(n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((N_PITCHES, n), np.float32), np.zeros((N_PITCHES, n), np.float32)


def spans(notes) -> list[tuple[int, int, int]]:
    """(start frame, end frame, MIDI pitch) of each note."""
    return [(round(n.start_s * FRAME_RATE), round(n.end_s * FRAME_RATE), n.pitch) for n in notes]


def test_single_note_times_and_velocity():
    # One onset peak with a steady frame posterior: one note, frame-exact times, mean-based velocity.
    on, fr = grams()
    fr[ROW, 10:40] = 0.8
    on[ROW, 10] = 0.9
    (note,) = decode_notes(on, fr, **KW)
    assert note.pitch == MIDI_MIN + ROW
    assert note.start_s == pytest.approx(frames_to_seconds(10))
    assert note.end_s == pytest.approx(frames_to_seconds(40))
    assert note.confidence == pytest.approx(0.8, abs=1e-6)
    assert note.velocity == round(127 * 0.8)
    assert note.track == 0


def test_reattack_same_pitch_splits():
    # Two onset peaks on one continuous frame run: the later onset starts a second note and the
    # first note stops right before it.
    on, fr = grams()
    fr[ROW, 10:60] = 0.8
    on[ROW, 10] = 0.9
    on[ROW, 35] = 0.9
    assert spans(decode_notes(on, fr, **KW, infer_onsets=False)) == [(10, 35, 64), (35, 60, 64)]


def test_too_short_note_dropped_and_limit_kept():
    # 8 frames (93 ms) is below min_note_ms=100 and dropped; 9 frames (104 ms) is kept.
    on, fr = grams()
    fr[ROW, 10:18] = 0.8
    on[ROW, 10] = 0.9
    fr[ROW + 10, 50:59] = 0.8
    on[ROW + 10, 50] = 0.9
    assert spans(decode_notes(on, fr, **KW)) == [(50, 59, 74)]


def test_gap_within_tolerance_bridged():
    # A 5-frame dip below the frame threshold (< 11 tolerated) does not end the note (the rise
    # back, 0.25 -> 0.7, stays under the onset threshold, so no onset is inferred there).
    on, fr = grams()
    fr[ROW, 10:50] = 0.7
    fr[ROW, 30:35] = 0.25
    on[ROW, 10] = 0.9
    assert spans(decode_notes(on, fr, **KW)) == [(10, 50, 64)]


def test_gap_beyond_tolerance_ends_note():
    # A 12-frame gap (>= 11) ends the note; the later part has no onset peak and (with onset
    # inference off) comes back as an onset-less note.
    on, fr = grams()
    fr[ROW, 10:30] = 0.8
    fr[ROW, 42:60] = 0.8
    on[ROW, 10] = 0.9
    assert spans(decode_notes(on, fr, **KW, infer_onsets=False)) == [(10, 30, 64), (42, 60, 64)]
    # Without the recovery stage only the onset note is left.
    assert spans(decode_notes(on, fr, **KW, infer_onsets=False, recover_onsetless=False)) == [(10, 30, 64)]


def test_onsetless_note_recovered_both_ways():
    # No onset anywhere and a slowly rising frame posterior (no inferred onset): the recovery stage
    # grows a note from the frame maximum backwards and forwards over the above-threshold frames.
    on, fr = grams()
    fr[ROW, 20:70] = np.linspace(0.35, 0.9, 50)
    fr[ROW, 70:80] = 0.2  # below threshold: not part of the note
    notes = decode_notes(on, fr, **KW)
    assert spans(notes) == [(20, 70, 64)]
    assert notes[0].confidence == pytest.approx(float(np.mean(fr[ROW, 20:70])), rel=1e-6)


def test_inferred_onset_from_sharp_frame_rise():
    # A frame posterior jumping 0.4 -> 0.95 with no onset posterior: onset inference turns the rise
    # into an onset and splits the note there; without inference it stays one onset-less note.
    on, fr = grams()
    fr[ROW, 10:40] = 0.4
    fr[ROW, 40:80] = 0.95
    assert spans(decode_notes(on, fr, **KW)) == [(10, 40, 64), (40, 80, 64)]
    assert spans(decode_notes(on, fr, **KW, infer_onsets=False)) == [(10, 80, 64)]


def test_onset_peak_without_frame_makes_no_note():
    # A strong onset with the frame posterior below threshold gives nothing.
    on, fr = grams()
    on[ROW, 10] = 1.0
    fr[ROW, 10:40] = 0.2
    assert decode_notes(on, fr, **KW) == []


def test_onset_plateau_gives_one_note():
    # An onset posterior that stays high for 3 frames is one peak (its first frame), not three.
    on, fr = grams()
    on[ROW, 10:13] = 0.9
    fr[ROW, 10:40] = 0.8
    assert spans(decode_notes(on, fr, **KW)) == [(10, 40, 64)]


def test_neighbour_semitone_suppressed():
    # A weaker simultaneous copy one semitone up is absorbed by the louder note; with neighbour
    # suppression off it is kept as its own note.
    on, fr = grams()
    fr[ROW, 10:40] = 0.9
    on[ROW, 10] = 0.9
    fr[ROW + 1, 10:40] = 0.5
    on[ROW + 1, 10] = 0.6
    assert spans(decode_notes(on, fr, **KW)) == [(10, 40, 64)]
    assert spans(decode_notes(on, fr, **KW, neighbour_suppression=False)) == [(10, 40, 64), (10, 40, 65)]


def test_later_note_cuts_earlier_neighbour():
    # Latest first: a note starting at frame 30 one semitone up claims its frames, so the earlier
    # note below (running on to frame 60) stops at 30.
    on, fr = grams()
    fr[ROW, 10:60] = 0.8
    on[ROW, 10] = 0.9
    fr[ROW + 1, 30:60] = 0.9
    on[ROW + 1, 30] = 0.9
    assert spans(decode_notes(on, fr, **KW, infer_onsets=False)) == [(10, 30, 64), (30, 60, 65)]


def test_note_running_to_the_end_and_at_frame_zero():
    # A note sounding from frame 0 to the last frame covers the whole posteriorgram.
    on, fr = grams(50)
    fr[ROW, :] = 0.7
    on[ROW, 0] = 0.8
    assert spans(decode_notes(on, fr, **KW)) == [(0, 50, 64)]


def test_chord_and_order():
    # Three simultaneous pitches a third apart give three notes, sorted by start then pitch.
    on, fr = grams()
    for r in (ROW, ROW + 4, ROW + 7):
        fr[r, 20:50] = 0.8
        on[r, 20] = 0.9
    fr[ROW - 12, 5:30] = 0.8
    on[ROW - 12, 5] = 0.9
    assert spans(decode_notes(on, fr, **KW)) == [(5, 30, 52), (20, 50, 64), (20, 50, 68), (20, 50, 71)]


def test_frame_offset_and_hop():
    # frame_offset shifts times; hop_length/sr set the frame rate.
    on, fr = grams()
    fr[ROW, 10:40] = 0.8
    on[ROW, 10] = 0.9
    (note,) = decode_notes(on, fr, **KW, frame_offset=100, hop_length=512, sr=44100)
    assert note.start_s == pytest.approx(110 * 512 / 44100)


def test_empty_and_bad_input():
    # Zero frames give no notes; mismatched shapes and out-of-range thresholds are rejected.
    on, fr = grams(0)
    assert decode_notes(on, fr, **KW) == []
    with pytest.raises(ParameterError):
        decode_notes(np.zeros((84, 10)), np.zeros((84, 11)), **KW)
    with pytest.raises(ParameterError):
        decode_notes(np.zeros((84, 10)), np.zeros((84, 10)), onset_threshold=1.5, frame_threshold=0.3,
                     min_note_ms=10)
    with pytest.raises(ParameterError):
        decode_notes(np.zeros((84, 10)), np.zeros((84, 10)), **KW, energy_tolerance_frames=0)


def random_grams(n_frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Posteriors of many random overlapping notes, octave ghosts and noise."""
    rng = np.random.default_rng(seed)
    on, fr = grams(n_frames)
    for _ in range(n_frames // 8):
        r, s, length = rng.integers(0, 72), rng.integers(0, n_frames - 5), rng.integers(5, 200)
        e = min(n_frames, s + length)
        fr[r, s:e] = np.maximum(fr[r, s:e], rng.uniform(0.4, 1.0) * (1 - 0.3 * rng.random(e - s)))
        if rng.random() < 0.8:
            on[r, s] = max(on[r, s], rng.uniform(0.3, 1.0))
        if rng.random() < 0.3:
            fr[r + 12, s:e] = np.maximum(fr[r + 12, s:e], 0.35)
    fr += rng.random(fr.shape, dtype=np.float32) * 0.25
    on += rng.random(on.shape, dtype=np.float32) * 0.2
    return np.clip(on, 0, 1), np.clip(fr, 0, 1)


@pytest.mark.parametrize("block", [1, 37, 500, 3000])
def test_streaming_equals_one_pass(block):
    # Feeding the posteriorgram in blocks of any size gives exactly the one-pass notes: notes that
    # cross block seams are neither split nor duplicated.
    on, fr = random_grams(6000, seed=block)
    ref = decode_notes(on, fr, **KW)
    dec = StreamingDecoder(min_decode_frames=200, **KW)
    got = []
    for i in range(0, on.shape[1], block):
        got += dec.push(on[:, i:i + block], fr[:, i:i + block])
    got += dec.finish()
    assert len(ref) > 300
    assert sorted(got, key=lambda n: (n.start_s, n.pitch)) == ref


def test_streaming_holds_bounded_buffer():
    # With only short notes the buffer stays near the decode interval, never the whole input.
    on, fr = random_grams(20000, seed=7)
    dec = StreamingDecoder(min_decode_frames=500, **KW)
    peak = 0
    for i in range(0, on.shape[1], 250):
        dec.push(on[:, i:i + 250], fr[:, i:i + 250])
        peak = max(peak, dec.buffered_frames)
    dec.finish()
    assert peak < 2000


def test_streaming_cuts_endless_notes():
    # A drone longer than max_open_frames is emitted in pieces instead of growing the buffer.
    on, fr = grams(5000)
    fr[ROW, :] = 0.8
    on[ROW, 0] = 0.9
    dec = StreamingDecoder(min_decode_frames=100, max_open_frames=1000, **KW)
    notes = []
    for i in range(0, 5000, 100):
        notes += dec.push(on[:, i:i + 100], fr[:, i:i + 100])
        assert dec.buffered_frames <= 1300
    notes += dec.finish()
    assert len(notes) >= 3 and notes[0].start_s == 0.0
    assert notes[-1].end_s == pytest.approx(frames_to_seconds(5000))


def test_decoding_is_fast():
    # 60 s of dense posteriors (many notes, noise) decode in well under the model's time. Process
    # CPU time, so a busy machine does not fail it; the bound is loose, the figure is in
    # docs/runtime.md.
    on, fr = random_grams(int(60 * FRAME_RATE), seed=1)
    decode_events(on, fr, **KW)
    t0 = time.process_time()
    events = decode_events(on, fr, **KW)
    elapsed = time.process_time() - t0
    assert len(events) > 300
    assert elapsed < 0.25, f"decoding 60 s took {elapsed * 1000:.0f} ms"
