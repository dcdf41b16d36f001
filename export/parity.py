"""Numerical parity of an exported graph (onnxruntime) with the torch model it came from.

Both sides get the same float32 audio at EXPORT_SAMPLE_RATE; the torch side is the
:class:`~septimbre.export.wrapper.ExportWrapper` around the model, so the comparison covers the
decimation front end, the model and the normalisation. Needs torch and onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from septimbre.export.contract import INPUT_NAME, OUTPUT_NAMES
from septimbre.utils.constants import EXPORT_HOP_LENGTH, N_PITCHES, n_frames

#: Default test lengths in samples at EXPORT_SAMPLE_RATE: tiny, just under / over one hop, odd.
PARITY_LENGTHS: tuple[int, ...] = (1, 100, 512, 513, 7919, 44100 + 333)
#: Largest accepted absolute difference between onnxruntime and torch outputs.
PARITY_TOLERANCE: float = 1e-4


@dataclass(frozen=True)
class ParityResult:
    """Comparison at one input length.

    Attributes
    ----------
    signal : str
        "noise" (Gaussian) or "silence" (all zeros).
    n_samples : int
        Input length T at EXPORT_SAMPLE_RATE.
    n_frames : int
        Frames each output has (ceil(T / EXPORT_HOP_LENGTH)).
    max_abs_diff : float
        Largest |onnx - torch| over the four outputs.
    per_output : tuple of (str, float)
        The same, output by output.
    finite : bool
        All onnxruntime outputs finite.
    """

    signal: str
    n_samples: int
    n_frames: int
    max_abs_diff: float
    per_output: tuple
    finite: bool


def onnx_session(path: str | Path, *, threads: int = 1):
    """An onnxruntime CPU session on ``path`` limited to ``threads`` intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def check_parity(
    model,
    onnx_path: str | Path,
    *,
    lengths: tuple[int, ...] = PARITY_LENGTHS,
    seed: int = 0,
    amplitude: float = 0.3,
    silence: bool = True,
    threads: int = 1,
) -> list[ParityResult]:
    """Run the torch wrapper and the ONNX file on the same random audio, one run per length.

    Parameters
    ----------
    model : torch.nn.Module
        The model that was exported (``(batch, samples)`` at SAMPLE_RATE -> (onset, frame)).
    onnx_path : path
        The exported file.
    lengths : tuple of int
        Input lengths T in samples at EXPORT_SAMPLE_RATE.
    seed, amplitude
        Gaussian test audio: ``amplitude * N(0, 1)`` from ``numpy.random.default_rng(seed)``.
    silence : bool
        Also compare on all-zero audio of each length (digital silence must stay finite).

    Returns
    -------
    list of ParityResult, one per length and signal. Shapes are checked: a wrong shape raises AssertionError.
    """
    import torch
    from septimbre.export.wrapper import ExportWrapper

    wrapper = ExportWrapper(model).eval()
    session = onnx_session(onnx_path, threads=threads)
    rng = np.random.default_rng(seed)
    results = []
    cases = []
    for n in lengths:
        cases.append(("noise", (amplitude * rng.standard_normal((1, 1, n))).astype(np.float32)))
        if silence:
            cases.append(("silence", np.zeros((1, 1, n), np.float32)))
    for signal, audio in cases:
        n = audio.shape[-1]
        got = session.run(list(OUTPUT_NAMES), {INPUT_NAME: audio})
        with torch.no_grad():
            want = [t.numpy() for t in wrapper(torch.from_numpy(audio))]
        expected = (1, N_PITCHES, n_frames(n, hop_length=EXPORT_HOP_LENGTH))
        per = []
        for name, g, w in zip(OUTPUT_NAMES, got, want):
            assert g.shape == expected, f"onnx {name} shape {g.shape} != {expected} for T={n}"
            assert w.shape == expected, f"torch {name} shape {w.shape} != {expected} for T={n}"
            per.append((name, float(np.max(np.abs(g.astype(np.float64) - w)))))
        results.append(
            ParityResult(
                signal=signal,
                n_samples=n,
                n_frames=expected[-1],
                max_abs_diff=max(d for _, d in per),
                per_output=tuple(per),
                finite=all(bool(np.all(np.isfinite(g))) for g in got),
            )
        )
    return results
