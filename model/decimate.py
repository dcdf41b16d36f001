"""Zero-phase FIR low-pass + 2x decimation as one block-strided conv1d (fast in torch and in ONNX).

Conventions
-----------
- Input ``(batch, 1, n)`` float32; output ``(batch, 1, ceil(n / 2))``.
- Output sample ``j`` is ``sum_t h[t] * x[2 j - pad + t]`` with ``pad = (len(h) - 1) // 2`` and
  ``x`` zero outside ``[0, n)``: the filter is centred on input sample ``2 j`` (zero phase).

How it is computed
------------------
A one-channel conv1d with stride 2 does ``len(h)`` multiply-adds per output but runs as a
one-row matrix product, which onnxruntime executes at a small fraction of its matrix speed (the
two decimators of the exported graph took a quarter of its run time that way). Here ``block``
outputs share one conv position: output channel ``k`` of a ``(block, 1, len(h) + 2 (block - 1))``
bank holds ``h`` shifted by ``2 k`` samples and the conv strides ``2 * block``. It does about
``1 + 2 (block - 1) / len(h)`` times the arithmetic as one real matrix product, then a transpose
and reshape interleave the channels back into time order. The right padding depends on ``n`` and
becomes a few shape ops in the exported graph; the numbers equal the plain strided conv's.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from septimbre.utils.errors import ParameterError

#: Outputs computed per conv position.
DEFAULT_BLOCK: int = 32


def decimator_bank(taps: np.ndarray, block: int = DEFAULT_BLOCK) -> torch.Tensor:
    """The conv1d weight that computes ``block`` decimated outputs at once.

    Parameters
    ----------
    taps : np.ndarray [shape=(n_taps,)]
        Odd-length zero-phase low-pass.
    block : int
        Outputs per conv position (>= 1).

    Returns
    -------
    torch.Tensor [shape=(block, 1, n_taps + 2 * (block - 1))], float32
    """
    taps = np.asarray(taps, dtype=np.float64)
    if taps.ndim != 1 or taps.size % 2 == 0:
        raise ParameterError(f"taps must be 1-D with an odd length; got shape {taps.shape}")
    if block < 1:
        raise ParameterError(f"block must be >= 1; got {block}")
    bank = np.zeros((block, 1, taps.size + 2 * (block - 1)), dtype=np.float32)
    for k in range(block):
        bank[k, 0, 2 * k: 2 * k + taps.size] = taps
    return torch.from_numpy(bank)


def decimate(x: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    """Low-pass and keep every other sample with a bank from :func:`decimator_bank`.

    Parameters
    ----------
    x : torch.Tensor [shape=(batch, 1, n)]
    bank : torch.Tensor [shape=(block, 1, width)]

    Returns
    -------
    torch.Tensor [shape=(batch, 1, ceil(n / 2))]
    """
    block, width = bank.shape[0], bank.shape[-1]
    pad = (width - 2 * (block - 1) - 1) // 2  # half the filter length
    n = x.shape[-1]
    n_out = (n + 1) // 2
    n_blocks = (n_out + block - 1) // block
    right = (n_blocks - 1) * 2 * block + width - n - pad
    y = F.conv1d(F.pad(x, (pad, right)), bank, stride=2 * block)  # (batch, block, n_blocks)
    return y.transpose(1, 2).reshape(x.shape[0], 1, n_blocks * block)[..., :n_out]
