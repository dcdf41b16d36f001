"""Block-strided decimation: the same numbers as a plain stride-2 conv1d, for any length."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from septimbre.export.halfband import halfband_taps
from septimbre.model.cqt import decimator_taps
from septimbre.model.decimate import decimate, decimator_bank
from septimbre.utils.errors import ParameterError


@pytest.mark.parametrize("taps", [decimator_taps(), halfband_taps(), np.array([0.25, 0.5, 0.25])],
                         ids=["cqt", "halfband", "three"])
@pytest.mark.parametrize("block", [1, 4, 32])
def test_equals_plain_strided_conv(taps, block):
    g = torch.Generator().manual_seed(block)
    weight = torch.tensor(taps, dtype=torch.float32).view(1, 1, -1)
    bank = decimator_bank(taps, block)
    assert bank.shape == (block, 1, taps.size + 2 * (block - 1))
    for n in (1, 2, 3, 63, 64, 65, 2 * block, 2 * block + 1, 1001):
        x = torch.randn(2, 1, n, generator=g)
        plain = torch.nn.functional.conv1d(x, weight, stride=2, padding=(taps.size - 1) // 2)
        got = decimate(x, bank)
        assert got.shape == (2, 1, (n + 1) // 2)
        torch.testing.assert_close(got, plain, atol=1e-6, rtol=0)


def test_bank_rejects_even_taps_and_empty_blocks():
    with pytest.raises(ParameterError):
        decimator_bank(np.ones(4))
    with pytest.raises(ParameterError):
        decimator_bank(np.ones(5), 0)
