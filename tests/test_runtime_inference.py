"""Windowed ONNX inference and the public API, run against the ONNX test double (no training needed).

The double (``septimbre.testing``) is a local computation (a 4096-sample analysis window per frame),
so windowed inference with enough context must reproduce a single pass exactly.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf
from septimbre.utils.constants import EXPORT_HOP_LENGTH, EXPORT_SAMPLE_RATE, n_frames
from septimbre.utils.errors import AudioLoadError, MissingResourceError, ParameterError

import septimbre
from septimbre.inference import Transcriber, window_posteriors

SR = EXPORT_SAMPLE_RATE
TONES = [(0.5, 1.5, 69), (1.0, 2.5, 76), (2.0, 3.5, 64), (3.0, 3.3, 72)]  # (start s, end s, MIDI)


@pytest.fixture(scope="module")
def signal():
    t = np.arange(int(4.0 * SR)) / SR
    x = np.zeros_like(t)
    for a, b, m in TONES:
        seg = (t >= a) & (t < b)
        x[seg] += 0.3 * np.sin(2 * np.pi * 440.0 * 2 ** ((m - 69) / 12) * t[seg])
    return x.astype(np.float32)


def test_window_posteriors_stitch_exactly():
    # With a local fake model, windows of any step/context/block size give the single-pass frames,
    # for lengths that are and are not multiples of the hop, and shorter than one hop.
    def fake(x):  # frame i = energy of x around sample 512*i (+/- 1024), 3 fake "pitches"
        pad = np.concatenate([np.zeros(1024, np.float32), x, np.zeros(1024, np.float32)])
        c = np.concatenate([[0.0], np.cumsum(pad.astype(np.float64) ** 2)])
        idx = np.arange(n_frames(x.size, hop_length=EXPORT_HOP_LENGTH)) * EXPORT_HOP_LENGTH
        e = (c[idx + 2048] - c[idx]).astype(np.float32)
        return np.stack([e, 2 * e, 3 * e]), np.stack([e, e, e])

    rng = np.random.default_rng(0)
    for length in (1, 511, 512, 513, 40 * 512, 40 * 512 + 7, 123_457):
        x = rng.standard_normal(length).astype(np.float32)
        ref_on, _ = fake(x)
        for step, ctx, block in ((7, 3, 1000), (16, 2, 777), (1, 4, 50_000), (64, 0, 512)):
            blocks = [x[i:i + block] for i in range(0, length, block)]
            parts = list(window_posteriors(fake, blocks, step_frames=step, context_frames=ctx))
            on = np.concatenate([p[0] for p in parts], axis=1)
            assert on.shape == ref_on.shape, (length, step, ctx)
            if ctx - min(16, ctx // 2, step // 2) >= 2:  # fake sees +/- 2 frames; fade takes half of its width
                np.testing.assert_allclose(on, ref_on, rtol=1e-5, atol=1e-6)


def test_cross_fade_smooths_clip_level_models():
    # A model whose output depends on its whole window (here: the window's mean level, like a
    # clip-normalised model) steps at every seam without a fade; the cross-fade spreads each step
    # over its width.
    def clip_level(x):
        k = n_frames(x.size, hop_length=EXPORT_HOP_LENGTH)
        v = np.full((1, k), np.abs(x).mean(), np.float32)
        return v, v

    x = np.linspace(0.0, 1.0, 200 * EXPORT_HOP_LENGTH, dtype=np.float32)  # rising level
    jumps = {}
    for fade in (0, 16):
        parts = window_posteriors(clip_level, [x], step_frames=40, context_frames=16, fade_frames=fade)
        col = np.concatenate([p[0] for p in parts], axis=1)[0]
        assert col.size == 200
        jumps[fade] = np.abs(np.diff(col)).max()
    assert jumps[16] < jumps[0] / 8


def test_window_posteriors_bounded_input():
    # The model never sees more than step + 2 * context frames of audio, however long the stream.
    seen = []

    def fake(x):
        seen.append(x.size)
        k = n_frames(x.size, hop_length=EXPORT_HOP_LENGTH)
        return np.zeros((84, k), np.float32), np.zeros((84, k), np.float32)

    blocks = (np.zeros(10_000, np.float32) for _ in range(300))  # 3e6 samples
    total = sum(p[0].shape[1] for p in window_posteriors(fake, blocks, step_frames=100, context_frames=10))
    assert total == n_frames(3_000_000, hop_length=EXPORT_HOP_LENGTH)
    assert max(seen) == 120 * EXPORT_HOP_LENGTH


def test_windowed_equals_single_pass(double, signal):
    # Real ONNX run: small windows (40 frames, 16 of context, 8 of them cross-faded) vs one window
    # over the whole signal: posteriors agree within 1e-5 everywhere and the notes are the same.
    one = Transcriber(double, step_frames=10_000)
    win = Transcriber(double, step_frames=40, context_frames=16)
    on1, fr1 = one.posteriors(signal, SR)
    on2, fr2 = win.posteriors(signal, SR)
    assert on1.shape == (84, n_frames(signal.size, hop_length=EXPORT_HOP_LENGTH))
    np.testing.assert_allclose(on2, on1, atol=1e-5)
    np.testing.assert_allclose(fr2, fr1, atol=1e-5)
    a, b = one.transcribe(signal, SR).notes, win.transcribe(signal, SR).notes
    assert [(n.start_s, n.end_s, n.pitch, n.velocity) for n in a] == [(n.start_s, n.end_s, n.pitch, n.velocity)
                                                                      for n in b]
    np.testing.assert_allclose([n.confidence for n in a], [n.confidence for n in b], atol=1e-5)
    # ... and the streaming decoder's notes are one-pass decode_notes on the whole posteriorgram.
    from septimbre.utils.decoding import decode_notes

    whole = decode_notes(on1, fr1, hop_length=EXPORT_HOP_LENGTH, sr=SR, **one.decoder_settings().kwargs())
    assert list(a) == whole
    # Too little context (the double sees 4 frames each way) does change frames near the seams.
    bad = Transcriber(double, step_frames=40, context_frames=0).posteriors(signal, SR)[1]
    assert np.abs(bad - fr1).max() > 1e-3


def test_lead_in_silence_is_dropped_and_shifts_nothing(double, signal):
    # The double's analysis windows pad the audio with zeros, so silence run before it changes no
    # frame posterior: whatever the lead (longer than a window's step included, so whole windows
    # are dropped), the columns are the audio's own, frame 0 first. Its onset (a rise of the log
    # level over 2 frames, zero-padded like the real model's convolutions) differs only in the
    # first frames, where the lead gives it silence to rise from.
    ref_on, ref_fr = Transcriber(double, lead_frames=0).posteriors(signal, SR)
    assert ref_on.shape == (84, n_frames(signal.size, hop_length=EXPORT_HOP_LENGTH))
    for lead in (1, 32, 100):
        on, fr = Transcriber(double, step_frames=40, context_frames=16, lead_frames=lead).posteriors(signal, SR)
        assert on.shape == ref_on.shape
        np.testing.assert_allclose(fr, ref_fr, atol=1e-5)
        np.testing.assert_allclose(on[:, 2:], ref_on[:, 2:], atol=1e-5)
    with pytest.raises(ParameterError):
        Transcriber(double, lead_frames=-1)


def test_transcribe_finds_the_tones(double, signal):
    # Each tone is one note at its pitch, within the double's smearing (+/- 2048 samples) in time.
    result = septimbre.transcribe(signal, SR, model=double)
    assert [n.pitch for n in result.notes] == [m for _, _, m in TONES]
    for note, (a, b, _) in zip(result.notes, TONES):
        assert note.start_s == pytest.approx(a, abs=0.05)
        assert note.end_s == pytest.approx(b, abs=0.05)
    assert result.duration_s == pytest.approx(4.0)
    assert len(result.tracks) == 1 and {n.track for n in result.notes} == {0}
    assert result.metadata["onset_threshold"] == 0.5  # from the model's JSON


def test_no_note_outlasts_the_audio(double):
    # A tone sounding to the last sample: its note ends at the audio's end, not up to a hop later.
    n = int(1.3 * SR) + 123  # not a whole number of hops
    t = np.arange(n) / SR
    x = (0.3 * np.sin(2 * np.pi * 440.0 * t) * (t >= 0.4)).astype(np.float32)
    result = septimbre.transcribe(x, SR, model=double)
    assert [note.pitch for note in result.notes] == [69]
    assert result.notes[0].end_s == pytest.approx(result.duration_s) and result.duration_s == pytest.approx(n / SR)


def test_file_input_any_rate_and_channels(double, signal, tmp_path):
    # A 22.05 kHz stereo FLAC streams through the same pipeline and gives the same notes.
    import soxr

    x = soxr.resample(signal, SR, 22050)
    path = tmp_path / "tones.flac"
    sf.write(path, np.stack([x, x], axis=1), 22050, subtype="PCM_24")
    tr = Transcriber(double, step_frames=64, context_frames=16)
    from_file = tr.transcribe(path)
    from_array = tr.transcribe(signal, SR)
    assert [n.pitch for n in from_file.notes] == [n.pitch for n in from_array.notes]
    for a, b in zip(from_file.notes, from_array.notes):
        assert abs(a.start_s - b.start_s) <= 0.03 and abs(a.end_s - b.end_s) <= 0.03
    assert from_file.source == str(path)


def test_threshold_overrides(double, signal):
    # Overrides replace the shipped thresholds (a 2 s minimum length leaves no note);
    # out-of-range values are refused.
    tr = Transcriber(double)
    res = tr.transcribe(signal, SR, onset_threshold=0.2, min_note_ms=2000)
    assert res.metadata["onset_threshold"] == 0.2 and res.notes == ()
    with pytest.raises(ParameterError):
        tr.transcribe(signal, SR, frame_threshold=2.0)


def test_decoder_options_from_model_json(double, signal, tmp_path):
    # Decoder options shipped in the model JSON reach the decoder: without the recovery stage and
    # with an unreachable onset threshold nothing is left.
    import shutil

    from septimbre.testing import write_test_config

    model = shutil.copy(double, tmp_path / "m.onnx")
    write_test_config(tmp_path / "m.json", onset_threshold=1.0, recover_onsetless=False, infer_onsets=False)
    res = Transcriber(model).transcribe(signal, SR)
    assert res.notes == () and res.metadata["recover_onsetless"] is False
    write_test_config(tmp_path / "m.json", onset_threshold=1.0)
    assert len(Transcriber(model).transcribe(signal, SR).notes) == len(TONES)


def test_instruments_and_validation_before_loading(signal, tmp_path):
    # Bad arguments are refused before any model is looked for (the model path here does not
    # exist, yet the error is about the argument); more than one instrument is a clear error.
    missing = tmp_path / "none.onnx"
    with pytest.raises(ParameterError, match="separation"):
        septimbre.transcribe(signal, SR, instruments=2, model=missing)
    with pytest.raises(ParameterError):
        septimbre.transcribe(signal, None, model=missing)
    with pytest.raises(ParameterError):
        septimbre.transcribe(np.full(100, np.nan), SR, model=missing)
    with pytest.raises(AudioLoadError, match="nothing.wav"):
        septimbre.transcribe(tmp_path / "nothing.wav", model=missing)
    with pytest.raises(MissingResourceError, match="none.onnx"):
        septimbre.transcribe(signal, SR, model=missing)


def test_single_track_options(double, signal):
    # instruments=1 and separate=False are accepted and give one track.
    for kw in ({"instruments": 1}, {"separate": False}):
        assert len(septimbre.transcribe(signal, SR, model=double, **kw).tracks) == 1


def test_transcribing_leaves_torch_unimported(double, tmp_path):
    # The inference path is torch-free: a fresh interpreter that transcribes never imports torch.
    code = textwrap.dedent(f"""
        import sys, numpy as np, septimbre
        x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)).astype(np.float32)
        r = septimbre.transcribe(x, 44100, model={str(double)!r})
        assert len(r.notes) == 1, r.notes
        print(",".join(m for m in ("torch", "matplotlib", "librosa") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
