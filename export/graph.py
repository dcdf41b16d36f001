"""Static checks and statistics of an exported ONNX graph (needs only ``onnx``, not torch).

What is checked (:func:`contract_problems`) is what noteDigger's onnxruntime-web 1.18 needs and
what the issue asks: IR version <= :data:`MAX_IR_VERSION`, opset <= :data:`MAX_OPSET`, default
ONNX domain only, weights inside the file, no ``auto_pad`` other than ``NOTSET`` (explicit pads),
no ``ScatterND``, a dynamic time axis on the input, the four named outputs, and a strictly
positive epsilon in front of every ``Log``.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from septimbre.export.contract import INPUT_NAME, OUTPUT_NAMES
from septimbre.utils.errors import require

MAX_IR_VERSION: int = 10
MAX_OPSET: int = 21
#: Ops the issue asks to keep few (counted in the report) or none (ScatterND).
WATCHED_OPS: tuple[str, ...] = ("Transpose", "Slice", "ScatterND", "Gather", "Reshape", "Concat", "Pad")


@dataclass(frozen=True)
class GraphReport:
    """Facts about one exported graph.

    Attributes
    ----------
    ir_version, opset : int
        ONNX IR version and default-domain opset.
    domains : tuple of str
        Operator-set domains imported ("" is the default ONNX domain).
    op_counts : dict
        Node count per op type, most frequent first.
    n_nodes, n_initializers : int
    n_weights : int
        Number of scalars held in initializers and Constant nodes.
    external_data : bool
        Whether any tensor refers to external data.
    auto_pads : tuple of str
        ``auto_pad`` values other than NOTSET found (empty when all pads are explicit).
    log_eps : tuple of float or None
        Per ``Log`` node, the smallest constant added (Add), floored (Max) or clipped (Clip min)
        to its input right before it; None where no such constant was found.
    input_shape, output_shapes : symbolic shapes (int or str per axis)
    file_bytes : int or None
    """

    ir_version: int
    opset: int
    domains: tuple[str, ...]
    op_counts: dict = field(hash=False)
    n_nodes: int
    n_initializers: int
    n_weights: int
    external_data: bool
    auto_pads: tuple[str, ...]
    log_eps: tuple
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    input_shape: tuple
    output_shapes: tuple
    file_bytes: int | None = None

    def watched(self) -> dict:
        """Counts of :data:`WATCHED_OPS` (0 where absent)."""
        return {op: self.op_counts.get(op, 0) for op in WATCHED_OPS}

    def as_dict(self) -> dict:
        """JSON-able summary."""
        return {
            "ir_version": self.ir_version,
            "opset": self.opset,
            "domains": list(self.domains),
            "n_nodes": self.n_nodes,
            "n_initializers": self.n_initializers,
            "n_weights": self.n_weights,
            "external_data": self.external_data,
            "auto_pads": list(self.auto_pads),
            "log_eps": list(self.log_eps),
            "inputs": {n: list(self.input_shape) for n in self.input_names},
            "outputs": {n: list(s) for n, s in zip(self.output_names, self.output_shapes)},
            "file_bytes": self.file_bytes,
            "watched_ops": self.watched(),
            "op_counts": dict(self.op_counts),
        }


def _shape(value_info) -> tuple:
    dims = value_info.type.tensor_type.shape.dim
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims)


def _constants(graph) -> dict:
    """name -> numpy array for initializers and Constant-node outputs (top-level graph)."""
    numpy_helper = require("onnx.numpy_helper", "train")
    out = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    out[node.output[0]] = numpy_helper.to_array(attr.t)
                elif attr.name == "value_float":
                    out[node.output[0]] = np.float32(attr.f)
                elif attr.name == "value_floats":
                    out[node.output[0]] = np.asarray(attr.floats, dtype=np.float32)
    return out


def _log_eps(graph, constants: dict) -> tuple:
    producer = {o: n for n in graph.node for o in n.output}
    found = []
    for node in graph.node:
        if node.op_type != "Log":
            continue
        src = producer.get(node.input[0])
        eps = None
        if src is not None and src.op_type in ("Add", "Max", "Clip"):
            inputs = list(src.input[1:2]) if src.op_type == "Clip" else list(src.input)
            values = [constants[i] for i in inputs if i in constants]
            if values:
                eps = float(min(np.min(v) for v in values))
        found.append(eps)
    return tuple(found)


def inspect_graph(model_or_path) -> GraphReport:
    """Collect a :class:`GraphReport` from an ``onnx.ModelProto`` or a path to a ``.onnx`` file."""
    onnx = require("onnx", "train")
    file_bytes = None
    if isinstance(model_or_path, (str, os.PathLike)):
        path = Path(model_or_path)
        file_bytes = path.stat().st_size
        model = onnx.load(str(path), load_external_data=False)
    else:
        model = model_or_path
    graph = model.graph
    counts = collections.Counter(n.op_type for n in graph.node)
    constants = _constants(graph)
    n_weights = int(sum(np.asarray(v).size for v in constants.values()))
    external = any(init.data_location == onnx.TensorProto.EXTERNAL for init in graph.initializer)
    auto_pads = []
    for node in graph.node:
        for attr in node.attribute:
            if attr.name == "auto_pad":
                value = attr.s.decode() if isinstance(attr.s, bytes) else str(attr.s)
                if value not in ("", "NOTSET"):
                    auto_pads.append(f"{node.op_type}:{value}")
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    initializer_names = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializer_names]
    return GraphReport(
        ir_version=int(model.ir_version),
        opset=int(opset),
        domains=tuple(sorted({o.domain for o in model.opset_import})),
        op_counts=dict(counts.most_common()),
        n_nodes=len(graph.node),
        n_initializers=len(graph.initializer),
        n_weights=n_weights,
        external_data=bool(external),
        auto_pads=tuple(auto_pads),
        log_eps=_log_eps(graph, constants),
        input_names=tuple(i.name for i in inputs),
        output_names=tuple(o.name for o in graph.output),
        input_shape=_shape(inputs[0]) if inputs else (),
        output_shapes=tuple(_shape(o) for o in graph.output),
        file_bytes=file_bytes,
    )


def contract_problems(report: GraphReport) -> list[str]:
    """Everything in ``report`` that breaks the export contract (empty list when it is met)."""
    problems = []
    if report.ir_version > MAX_IR_VERSION:
        problems.append(f"IR version {report.ir_version} > {MAX_IR_VERSION}")
    if report.opset > MAX_OPSET:
        problems.append(f"opset {report.opset} > {MAX_OPSET}")
    foreign = [d for d in report.domains if d not in ("", "ai.onnx")]
    if foreign:
        problems.append(f"non-default operator domains {foreign}")
    if report.external_data:
        problems.append("weights stored as external data")
    if report.auto_pads:
        problems.append(f"auto_pad other than NOTSET: {sorted(set(report.auto_pads))}")
    if report.op_counts.get("ScatterND", 0):
        problems.append(f"{report.op_counts['ScatterND']} ScatterND nodes")
    if report.input_names != (INPUT_NAME,):
        problems.append(f"inputs {report.input_names} != ({INPUT_NAME!r},)")
    elif (
        len(report.input_shape) != 3
        or report.input_shape[:2] != (1, 1)
        or isinstance(report.input_shape[2], int)
    ):
        problems.append(f"input shape {report.input_shape} is not [1, 1, dynamic]")
    if report.output_names != OUTPUT_NAMES:
        problems.append(f"outputs {report.output_names} != {OUTPUT_NAMES}")
    for eps in report.log_eps:
        if eps is None or not eps > 0.0:
            problems.append(f"a Log without a positive constant epsilon in front (found {eps})")
    return problems
