"""harmonica-amt 0.3.0 'small' runner (CPU, its bundled thresholds); see _runner_common.

Runs in the peer's own virtualenv, made by ``python -m septimbre.evaluate setup-peers``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _runner_common import main

MODEL_SIZE = "small"


def load(args):
    import torch
    from harmonica import Harmonica

    threads = args.threads
    if threads:
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
    # oneDNN cannot build its LSTM primitive on some CPUs ("could not create a primitive descriptor
    # for the LSTM forward propagation primitive"); torch's own kernels give the same model
    torch.backends.mkldnn.enabled = False
    return Harmonica(MODEL_SIZE, device="cpu")  # thresholds: the ones shipped with the checkpoint


def transcribe(model, path: str):
    notes = model.transcribe(path)
    return zip(notes.onsets, notes.offsets, notes.pitches)


if __name__ == "__main__":
    from importlib.metadata import version

    raise SystemExit(main(f"harmonica-{MODEL_SIZE}", version("harmonica-amt"), load, transcribe))
