"""The exported graph in onnxruntime-web 1.18.0 (wasm backend, one thread), as noteDigger runs it.

Runs ``tests/node/check_onnx.mjs`` with Node on a freshly exported test model (a seeded random
BasicAMT, see test_export_onnx.py). Skipped with a message where ``node`` or
``tests/node/node_modules`` is missing (``cd tests/node && npm ci`` installs it; ``.ci/run`` does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
SCRIPT = NODE_DIR / "check_onnx.mjs"


def _skip_or_fail(reason: str) -> None:
    """Skip where Node is optional; fail in CI (``.ci/run`` sets SEPTIMBRE_REQUIRE_NODE=1)."""
    if os.environ.get("SEPTIMBRE_REQUIRE_NODE") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        _skip_or_fail(
            "node is not installed: the onnxruntime-web check needs Node.js (apt-get install nodejs npm)"
        )
    if not (NODE_DIR / "node_modules" / "onnxruntime-web").is_dir():
        _skip_or_fail("tests/node/node_modules is missing: run `npm ci` in tests/node (.ci/run does)")
    return node


def _run(model: Path, *extra: str, timeout: float = 120) -> tuple[int, dict]:
    proc = subprocess.run(
        [_node(), str(SCRIPT), str(model), *extra],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON from check_onnx.mjs (rc {proc.returncode}): {proc.stdout}\n{proc.stderr}"
    return proc.returncode, json.loads(lines[-1])


def test_exported_model_runs_in_onnxruntime_web():
    pytest.importorskip("torch")
    _node()
    sys.path.insert(0, str(HERE))
    from test_export_onnx import exported_test_model

    _, path, _ = exported_test_model()
    audio = (0.2 * np.random.default_rng(3).standard_normal(3 * 44100 + 77)).astype("<f4")
    audio_path = Path(tempfile.mkdtemp(prefix="septimbre-node-")) / "audio.f32"
    audio.tofile(audio_path)
    rc, report = _run(path, "--input", str(audio_path))
    shutil.rmtree(audio_path.parent, ignore_errors=True)
    assert report["ok"], report["problems"]
    assert rc == 0
    assert report["backend"] == "wasm" and report["threads"] == 1
    assert report["onnxruntime_web"] == "1.18.0"
    assert report["input_names"] == ["audio"]
    assert set(report["output_names"]) == {"onset", "frame", "onset_raw", "frame_raw"}
    by_name = {c["name"]: c for c in report["cases"]}
    # 10 s of audio at 44.1 kHz: ceil(441000 / 512) = 862 frames; T = 300 and T = 1: one frame
    assert by_name["synthetic_10s"]["frames"] == 862
    assert by_name["noise_T300"]["outputs"]["onset"]["dims"] == [1, 84, 1]
    assert by_name["T513"]["outputs"]["frame_raw"]["dims"] == [1, 84, 2]
    for case in report["cases"]:
        for name in ("onset", "frame"):
            assert case["outputs"][name]["finite"]
            assert abs(case["outputs"][name]["max"] - 1.0) <= 1e-5, (case["name"], name)
    # the wasm numbers agree with onnxruntime CPU on the same samples
    from septimbre.export.parity import onnx_session

    cpu = onnx_session(path).run(None, {"audio": audio.reshape(1, 1, -1)})
    wasm = by_name["input"]["outputs"]
    for name, value in zip(("onset", "frame", "onset_raw", "frame_raw"), cpu):
        assert wasm[name]["dims"] == list(value.shape)
        assert wasm[name]["sum"] == pytest.approx(float(value.sum(dtype=np.float64)), rel=1e-5), name
        assert wasm[name]["max"] == pytest.approx(float(value.max()), abs=1e-5), name
        assert wasm[name]["min"] == pytest.approx(float(value.min()), abs=1e-5), name


def test_node_bench_mode_reports_seconds_per_minute():
    _node()
    sys.path.insert(0, str(HERE))
    from test_export_onnx import exported_test_model

    _, path, _ = exported_test_model()
    rc, report = _run(path, "--bench", "--seconds", "1", "--repeats", "1")
    assert rc == 0, report
    bench = report["bench"]
    assert bench["audio_seconds"] == 1 and len(bench["seconds"]) == 1
    assert 0 < bench["seconds_per_minute_min"] == pytest.approx(60 * bench["seconds"][0])
    assert bench["cpu_seconds_per_minute_min"] > 0


def _unnormalised_graph(path: Path) -> None:
    """A graph with the right names and shapes whose ``onset`` is NOT max-normalised."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array((0.01 * rng.standard_normal((84, 1, 512))).astype(np.float32), "w")
    half = numpy_helper.from_array(np.array(0.5, np.float32), "half")
    nodes = [
        helper.make_node(
            "Conv", ["audio", "w"], ["logits"], kernel_shape=[512], strides=[512], pads=[256, 511]
        ),
        helper.make_node("Sigmoid", ["logits"], ["onset_raw"]),
        helper.make_node("Mul", ["onset_raw", "half"], ["onset"]),  # max 0.5 instead of 1
        helper.make_node("Identity", ["onset_raw"], ["frame_raw"]),
        helper.make_node("ReduceMax", ["frame_raw"], ["peak"], keepdims=0),
        helper.make_node("Div", ["frame_raw", "peak"], ["frame"]),
    ]
    out = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 84, "frames"])
        for n in ("onset", "frame", "onset_raw", "frame_raw")
    ]
    graph = helper.make_graph(
        nodes,
        "bad",
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, [1, 1, "samples"])],
        out,
        initializer=[weight, half],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def test_node_check_rejects_unnormalised_outputs(tmp_path):
    _node()
    path = tmp_path / "bad.onnx"
    _unnormalised_graph(path)
    rc, report = _run(path)
    assert rc == 1 and not report["ok"]
    assert any("onset" in p and "max" in p for p in report["problems"]), report["problems"]
    assert not any(p.startswith("synthetic_10s: frame") for p in report["problems"])
