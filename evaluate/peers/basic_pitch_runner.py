"""basic-pitch 0.4.0 runner (ONNX backend, the package's default thresholds); see _runner_common.

Runs in the peer's own virtualenv, made by ``python -m septimbre.evaluate setup-peers``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
logging.disable(logging.WARNING)  # basic-pitch warns at import that TensorFlow/TFLite are absent

from _runner_common import main


def load(args):
    import onnxruntime as ort
    from basic_pitch import ICASSP_2022_MODEL_PATH
    from basic_pitch.inference import Model

    path = Path(ICASSP_2022_MODEL_PATH)
    if path.suffix != ".onnx":
        path = path.parent / "nmp.onnx"
    model = Model(path)
    if model.model_type != Model.MODEL_TYPES.ONNX:
        raise SystemExit(f"basic-pitch did not load its ONNX model ({model.model_type})")
    threads = args.threads
    if threads:
        # Same model file, a session pinned to the requested thread count.
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        model.model = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return model


def transcribe(model, path: str):
    from basic_pitch.inference import predict

    _, _, note_events = predict(path, model)  # default thresholds: onset 0.5, frame 0.3, 127.7 ms
    return [(start, end, pitch) for start, end, pitch, *_ in note_events]


if __name__ == "__main__":
    from importlib.metadata import version

    raise SystemExit(main("basic-pitch", version("basic-pitch"), load, transcribe))
