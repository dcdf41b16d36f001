"""A tiny, deterministic ONNX test double of the transcription graph (for tests and memory checks).

It honours the exported graph's contract (input ``audio`` float32 [1, 1, T] at EXPORT_SAMPLE_RATE;
outputs ``onset``, ``frame``, ``onset_raw``, ``frame_raw`` float32 [1, N_PITCHES, ceil(T / 512)],
frame ``i`` centred at sample ``512 * i``) with a purely local computation, so windowed inference
must reproduce single-pass inference exactly away from window edges:

- ``frame_raw``: a sigmoid of the log power of a Hann-windowed complex sinusoid (one per pitch,
  :data:`KERNEL_LENGTH` samples, centred on the frame) -- a crude 84-band pitch detector;
- ``onset_raw``: a sigmoid of the rise of that log power over the last two frames.

Its outputs are meaningful enough for tests (a tone at MIDI p lights row p), nothing more.
Building it needs the ``onnx`` package (``train`` extra); running it needs only onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from septimbre.utils.constants import EXPORT_HOP_LENGTH, EXPORT_SAMPLE_RATE, MIDI_MIN, N_PITCHES, midi_to_hz
from septimbre.utils.errors import require

#: Analysis window of the double, samples at EXPORT_SAMPLE_RATE (frame i sees 512*i -/+ 2048).
KERNEL_LENGTH: int = 4096
#: log-power at which frame_raw crosses 0.5 (a 0.3-amplitude sine gives about -3.8), and slope.
FRAME_LOG_POWER_MID: float = -8.0
FRAME_SLOPE: float = 2.0
#: onset_raw = sigmoid(ONSET_SLOPE * (logp[t] - logp[t-2]) + ONSET_BIAS).
ONSET_SLOPE: float = 1.5
ONSET_BIAS: float = -4.0
POWER_EPS: float = 1e-6
OPSET: int = 17


def _kernels() -> tuple[np.ndarray, np.ndarray]:
    n = np.arange(KERNEL_LENGTH) - KERNEL_LENGTH // 2
    w = np.hanning(KERNEL_LENGTH)
    w /= w.sum()
    f = np.array([midi_to_hz(MIDI_MIN + p) for p in range(N_PITCHES)])[:, None]
    phase = 2 * np.pi * f * n[None, :] / EXPORT_SAMPLE_RATE
    cos = (w * np.cos(phase)).astype(np.float32)[:, None, :]
    sin = (w * np.sin(phase)).astype(np.float32)[:, None, :]
    return cos, sin


def build_test_double(path: str | Path) -> Path:
    """Write the test-double ONNX graph to ``path`` and return the path."""
    onnx = require("onnx", "train")
    from onnx import TensorProto, helper, numpy_helper

    cos, sin = _kernels()
    half = KERNEL_LENGTH // 2
    conv_attrs = {"strides": [EXPORT_HOP_LENGTH], "pads": [half, half - 1]}  # -> ceil(T / 512) frames

    def const(name: str, value) -> onnx.TensorProto:
        return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)

    inits = [
        const("w_cos", cos), const("w_sin", sin), const("eps", POWER_EPS),
        const("f_slope", FRAME_SLOPE), const("f_bias", -FRAME_SLOPE * FRAME_LOG_POWER_MID),
        const("o_kernel", np.tile(np.array([-1.0, 0.0, 1.0], np.float32), (N_PITCHES, 1, 1))),
        const("o_slope", ONSET_SLOPE), const("o_bias", ONSET_BIAS), const("floor", 1e-12),
    ]
    nodes = [
        helper.make_node("Conv", ["audio", "w_cos"], ["re"], **conv_attrs),
        helper.make_node("Conv", ["audio", "w_sin"], ["im"], **conv_attrs),
        helper.make_node("Mul", ["re", "re"], ["re2"]),
        helper.make_node("Mul", ["im", "im"], ["im2"]),
        helper.make_node("Add", ["re2", "im2"], ["pow"]),
        helper.make_node("Add", ["pow", "eps"], ["pow_eps"]),
        helper.make_node("Log", ["pow_eps"], ["logp"]),
        helper.make_node("Mul", ["logp", "f_slope"], ["f_lin"]),
        helper.make_node("Add", ["f_lin", "f_bias"], ["f_logit"]),
        helper.make_node("Sigmoid", ["f_logit"], ["frame_raw"]),
        helper.make_node("Conv", ["logp", "o_kernel"], ["rise"], group=N_PITCHES, pads=[2, 0]),
        helper.make_node("Mul", ["rise", "o_slope"], ["o_lin"]),
        helper.make_node("Add", ["o_lin", "o_bias"], ["o_logit"]),
        helper.make_node("Sigmoid", ["o_logit"], ["onset_raw"]),
    ]
    for name in ("onset", "frame"):
        nodes += [
            helper.make_node("ReduceMax", [f"{name}_raw"], [f"{name}_max"], keepdims=0),
            helper.make_node("Max", [f"{name}_max", "floor"], [f"{name}_div"]),
            helper.make_node("Div", [f"{name}_raw", f"{name}_div"], [name]),
        ]
    out_shape = [1, N_PITCHES, "F"]
    graph = helper.make_graph(
        nodes, "septimbre_test_double",
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, [1, 1, "T"])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, out_shape)
         for n in ("onset", "frame", "onset_raw", "frame_raw")],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="septimbre.testing")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def write_test_config(path: str | Path, **overrides) -> Path:
    """Write a model JSON next to a test double: thresholds that suit it, plus ``overrides``."""
    import json

    cfg = {"format": 1, "class": "septimbre.testing.test_double", "n_parameters": int(2 * N_PITCHES *
           KERNEL_LENGTH + 3 * N_PITCHES), "onset_threshold": 0.5, "frame_threshold": 0.5,
           "min_note_ms": 50.0, "version": "test-double"}
    cfg.update(overrides)
    path = Path(path)
    path.write_text(json.dumps(cfg, indent=1))
    return path
