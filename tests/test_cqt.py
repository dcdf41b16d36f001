"""Analytic tests of the exportable CQT, harmonic stacking and energy normalisation."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from septimbre.model.cqt import OctaveCQT, decimator_taps
from septimbre.model.norm import EnergyNorm
from septimbre.model.stacking import HarmonicStacking, harmonic_shifts
from septimbre.utils.constants import (
    BINS_PER_SEMITONE,
    HOP_LENGTH,
    MIDI_MIN,
    N_BINS,
    SAMPLE_RATE,
    midi_to_hz,
    n_frames,
)


@pytest.fixture(scope="module")
def cqt():
    torch.set_num_threads(1)
    return OctaveCQT()


def sine(freq_hz: float, seconds: float = 1.0, amplitude: float = 1.0) -> torch.Tensor:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return torch.tensor(amplitude * np.sin(2 * np.pi * freq_hz * t), dtype=torch.float32)[None]


@pytest.mark.parametrize("midi", [36, 69, 96])  # C2, A4 (440 Hz), C7
def test_sine_peaks_on_its_semitone_centre_bin(cqt, midi):
    with torch.no_grad():
        mag = cqt(sine(midi_to_hz(midi), seconds=2.0 if midi < 48 else 1.0))[0]
    profile = mag[:, mag.shape[1] // 2]
    assert int(profile.argmax()) == 1 + BINS_PER_SEMITONE * (midi - MIDI_MIN)
    # window-normalised kernels: a unit sine on a bin centre has magnitude 0.5 (decimator ripple < 3%)
    assert float(profile.max()) == pytest.approx(0.5, rel=0.03)


def test_bin_frequencies_put_semitone_centres_on_every_third_bin(cqt):
    f = cqt.bin_frequencies()
    assert f.shape == (N_BINS,)
    assert f[1 + 3 * (69 - MIDI_MIN)] == pytest.approx(440.0, rel=1e-9)


@pytest.mark.parametrize("n_samples", [1, 255, 256, 257, SAMPLE_RATE + 3])
def test_frame_count_is_ceil_of_hops(cqt, n_samples):
    g = torch.Generator().manual_seed(n_samples)
    with torch.no_grad():
        out = cqt(torch.randn(2, n_samples, generator=g))
    assert out.shape == (2, N_BINS, n_frames(n_samples))
    assert torch.isfinite(out).all()


def test_frame_i_is_centred_on_sample_hop_times_i(cqt):
    # A click at sample HOP_LENGTH * 7 gives its largest top-octave response in frame 7, for every octave.
    x = torch.zeros(1, HOP_LENGTH * 40)
    x[0, HOP_LENGTH * 7] = 1.0
    with torch.no_grad():
        mag = cqt(x)[0]
    for octave in range(8):
        rows = mag[36 * octave : 36 * (octave + 1)]
        assert int(rows.sum(0).argmax()) == 7, octave


def test_eager_blocked_decimation_equals_plain_strided_conv(cqt):
    g = torch.Generator().manual_seed(0)
    for n in (1, 2, 63, 64, 65, 1001):
        x = torch.randn(3, 1, n, generator=g)
        pad = (cqt.decimator.shape[-1] - 1) // 2
        plain = torch.nn.functional.conv1d(x, cqt.decimator, stride=2, padding=pad)
        torch.testing.assert_close(cqt.decimate(x), plain, atol=1e-6, rtol=0)


def test_padding_to_whole_frames_leaves_every_value_as_the_unpadded_octaves_give(cqt):
    # The CQT pads the signal to whole frames and zeroes each decimated tail (a simpler shape for
    # the exporter); every value must equal the plain octave loop on the unpadded signal, whose
    # convs see implicit zeros past its end.
    def unpadded(x):
        hop, octaves = cqt.hop_length, []
        for octave in range(cqt.n_octaves):
            if octave:
                x = torch.nn.functional.conv1d(x, cqt.decimator, stride=2, padding=(cqt.decimator.shape[-1] - 1) // 2)
                hop //= 2
            octaves.append(torch.nn.functional.conv1d(x, cqt.kernels, stride=hop, padding=cqt.kernel_pad))
        y = torch.cat(octaves[::-1], dim=1)
        return y.reshape(y.shape[0], cqt.n_octaves, 2, cqt.bins_per_octave, y.shape[-1])

    g = torch.Generator().manual_seed(1)
    for n in (1, HOP_LENGTH - 1, HOP_LENGTH, HOP_LENGTH + 1, 5 * HOP_LENGTH + 77, SAMPLE_RATE + 3):
        x = torch.randn(2, 1, n, generator=g)
        with torch.no_grad():
            torch.testing.assert_close(cqt.complex_parts(x), unpadded(x), atol=1e-5, rtol=0)


def test_decimator_is_flat_in_the_next_octave_and_rejects_aliases():
    from scipy import signal

    taps = decimator_taps()
    assert np.allclose(taps, taps[::-1]) and taps.sum() == pytest.approx(1.0)
    w, h = signal.freqz(taps, worN=4096)
    f = w / np.pi  # fraction of Nyquist
    db = 20 * np.log10(np.abs(h) + 1e-300)
    assert np.abs(db[f <= 0.39]).max() < 0.1
    assert db[f >= 0.61].max() < -100


def test_harmonic_shifts_and_stacking_slices():
    shifts = harmonic_shifts((0.5, 1, 2, 3, 4, 5, 6, 7), bins_per_octave=36)
    assert shifts == [-36, 0, 36, 57, 72, 84, 93, 101]
    stack = HarmonicStacking((0.5, 1, 2, 3, 4, 5, 6, 7), n_bins_out=252, pad_value=-5.0)
    x = torch.zeros(1, 1, 288, 2)
    x[0, 0, 140, :] = 1.0  # a single partial on bin 140
    y = stack(x)
    assert y.shape == (1, 8, 252, 2)
    for c, s in enumerate(shifts):
        # output bin b of channel c reads input bin b + s: the partial shows at 140 - s
        assert int(y[0, c, :, 0].argmax()) == 140 - s
    assert float(y[0, 0, 0, 0]) == -5.0  # sub-harmonic channel below bin 36 reads padding
    assert float(y[0, 7, 251, 0]) == -5.0  # 7th harmonic of the top bins lies above the CQT


def test_energy_norm_ignores_gain_and_silence_is_finite(cqt):
    norm = EnergyNorm()
    x = sine(440.0) + 0.1 * sine(1000.0)
    with torch.no_grad():
        a = norm(cqt.power(x))
        b = norm(cqt.power(x * 37.0))
        z = norm(cqt.power(torch.zeros(1, 2048)))
        silent = float(norm.affine(torch.tensor(norm.floor)))
    torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-4)
    assert torch.isfinite(z).all()
    assert float(z.max()) == pytest.approx(silent, abs=1e-5)
