"""Remixing two rendered crops into a new training mixture (``septimbre.data.remix``)."""

from __future__ import annotations

import numpy as np
import pytest
from septimbre.data.remix import Crop, remix
from septimbre.utils.errors import ParameterError

SAMPLES, FRAMES = 2048, 8


def _crop(n_inst: int, seed: int, *, program0: int = 0) -> Crop:
    """``n_inst`` sine stems (distinct frequencies), each with its own one-pitch roll, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(SAMPLES) / 22050.0
    stems = np.stack([np.sin(2 * np.pi * (200.0 + 50 * k + seed) * t) for k in range(n_inst)]).astype(np.float32)
    rolls = np.zeros((n_inst, 84, FRAMES), np.uint8)
    for k in range(n_inst):
        pitch = 10 * k + seed % 7
        rolls[k, pitch, 2] = 2
        rolls[k, pitch, 3:6] = 1
    noise = 1e-3 * rng.standard_normal(SAMPLES).astype(np.float32)
    programs = np.arange(program0, program0 + n_inst, dtype=np.int64)
    return Crop(mix=stems.sum(0) + noise, stems=stems, rolls=rolls, programs=programs)


def _source_of(row: np.ndarray, a: Crop, b: Crop) -> tuple[str, int, float]:
    """Which input stem ``row`` is a scaled copy of, and the scale."""
    for name, crop in (("a", a), ("b", b)):
        for k, stem in enumerate(crop.stems):
            g = float(row @ stem / (stem @ stem))
            if np.allclose(row, g * stem, atol=1e-5):
                return name, k, g
    raise AssertionError("remixed stem is no scaled input stem")


@pytest.mark.parametrize("na, nb, expected", [(1, 1, 2), (1, 3, 2), (3, 1, 3), (2, 4, 2), (4, 4, 4), (4, 2, 4)])
def test_remix_sums_scaled_stems_over_the_first_crops_noise_and_keeps_their_labels(na, nb, expected):
    a, b = _crop(na, 1), _crop(nb, 5, program0=40)
    for seed in range(12):
        out = remix(a, b, np.random.default_rng(seed), gain_db=(-12.0, 0.0))
        assert out.stems.shape == (expected, SAMPLES) and out.rolls.shape == (expected, 84, FRAMES)
        sources = [_source_of(row, a, b) for row in out.stems]
        # At least one instrument from each crop, none twice, a's first; each gain in range.
        names = [s[0] for s in sources]
        assert "a" in names and "b" in names and names == sorted(names)
        assert len(set((s[0], s[1]) for s in sources)) == expected
        for (name, k, g), rolls, program in zip(sources, out.rolls, out.programs):
            assert 10 ** (-12 / 20) - 1e-6 <= g <= 1 + 1e-6
            src = a if name == "a" else b
            np.testing.assert_array_equal(rolls, src.rolls[k])  # labels travel with their stem
            assert program == src.programs[k]
        noise = a.mix - a.stems.sum(0)
        np.testing.assert_allclose(out.mix, out.stems.sum(0) + noise, atol=1e-6)


def test_remix_is_a_pure_function_of_the_generator_state():
    a, b = _crop(3, 2), _crop(3, 4)
    x, y = remix(a, b, np.random.default_rng(7)), remix(a, b, np.random.default_rng(7))
    np.testing.assert_array_equal(x.mix, y.mix)
    np.testing.assert_array_equal(x.rolls, y.rolls)
    others = [remix(a, b, np.random.default_rng(s)).mix for s in range(8, 12)]
    assert any(not np.array_equal(x.mix, o) for o in others)


def test_remix_rejects_mismatched_crops_and_bad_gains():
    a = _crop(2, 1)
    short = Crop(mix=a.mix[:1024], stems=a.stems[:, :1024], rolls=a.rolls, programs=a.programs)
    with pytest.raises(ParameterError, match="length"):
        remix(a, short, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="gain_db"):
        remix(a, _crop(2, 3), np.random.default_rng(0), gain_db=(0.0, -6.0))
    with pytest.raises(ParameterError, match="disagree"):
        Crop(mix=a.mix, stems=a.stems, rolls=a.rolls[:1], programs=a.programs)


def test_remix_needs_the_stems():
    a = _crop(2, 1)
    bare = Crop(mix=a.mix, stems=None, rolls=a.rolls, programs=a.programs)
    with pytest.raises(ParameterError, match="stems"):
        remix(bare, a, np.random.default_rng(0))
