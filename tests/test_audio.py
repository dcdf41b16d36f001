"""Audio loading: formats, rates, channels, streaming equals whole-file, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from septimbre.utils.audio import audio_info, load_audio, resample, stream_blocks, to_mono
from septimbre.utils.errors import AudioLoadError, ParameterError


def tone(sr: int, seconds: float, hz: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    x = 0.5 * np.sin(2 * np.pi * hz * t).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def peak_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spec) * sr / x.size)


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")])
def test_formats_rates_channels(tmp_path, fmt, subtype):
    # A 48 kHz stereo 440 Hz tone loads as mono at 44.1 kHz, with its length and pitch kept.
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, tone(48000, 1.0, 440.0, channels=2), 48000, format=fmt, subtype=subtype)
    x = load_audio(path, sr=44100)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(x.size - 44100) <= 2
    assert peak_hz(x, 44100) == pytest.approx(440.0, abs=1.5)
    assert audio_info(path).channels == 2


def test_mp3(tmp_path):
    # libsndfile >= 1.1 decodes (and here encodes) MP3; the tone survives (encoder delay aside).
    path = tmp_path / "a.mp3"
    try:
        sf.write(path, tone(44100, 1.0, 660.0), 44100, format="MP3", subtype="MPEG_LAYER_III")
    except Exception as exc:  # noqa: BLE001  # pragma: no cover - only where libsndfile lacks the mp3 encoder
        pytest.skip(f"libsndfile cannot write mp3 here: {exc}")
    x = load_audio(path, sr=22050)
    assert abs(x.size - 22050) < 2000
    assert peak_hz(x, 22050) == pytest.approx(660.0, abs=3.0)


def test_streaming_matches_whole_resample(tmp_path):
    # Resampled blocks, concatenated, equal soxr on the whole signal (up to float noise), and the
    # reader never yields more than about one block at a time.
    sr_in = 32000
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(sr_in * 3)).astype(np.float32)
    path = tmp_path / "n.wav"
    sf.write(path, x, sr_in, subtype="FLOAT")
    blocks = list(stream_blocks(path, sr=44100, block_frames=4096))
    assert len(blocks) > 20
    assert max(b.size for b in blocks) < 4096 * 44100 / sr_in + 2048
    y = np.concatenate(blocks)
    ref = resample(x, orig_sr=sr_in, target_sr=44100)
    assert abs(y.size - ref.size) <= 1
    n = min(y.size, ref.size)
    np.testing.assert_allclose(y[:n], ref[:n], atol=2e-3)


def test_same_rate_is_identity(tmp_path):
    # No resampling when rates match: samples come back exactly (float WAV).
    x = tone(44100, 0.5, 300.0)
    path = tmp_path / "t.wav"
    sf.write(path, x, 44100, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path, sr=44100), x)


def test_missing_corrupt_empty_files_name_the_file(tmp_path):
    # Each failure is an AudioLoadError whose message names the file.
    missing = tmp_path / "missing.wav"
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 44100)
    for path in (missing, corrupt, empty, tmp_path):
        with pytest.raises(AudioLoadError, match=str(path.name)):
            load_audio(path, sr=44100)


def test_to_mono_layouts_and_bad_args():
    # (n, ch) and (ch, n) both average channels; odd shapes and rates are refused.
    a = np.stack([np.ones(100), np.zeros(100)], axis=1)
    np.testing.assert_allclose(to_mono(a), 0.5)
    np.testing.assert_allclose(to_mono(a.T), 0.5)
    with pytest.raises(ParameterError):
        to_mono(np.zeros((2, 2, 2)))
    with pytest.raises(ParameterError):
        resample(np.zeros(10, np.float32), orig_sr=0, target_sr=44100)
