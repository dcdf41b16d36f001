"""Export a transcription model to one self-contained ONNX file (the noteDigger contract).

Command line (also ``septimbre export-onnx``)::

    python -m septimbre.export --model septimbre/weights/basicamt --out septimbre/weights/basicamt.onnx

The graph: input ``audio`` float32 [1, 1, T] at EXPORT_SAMPLE_RATE (44.1 kHz, T dynamic), a fixed
zero-phase half-band FIR with stride-2 decimation (:mod:`septimbre.export.halfband`), the model at
SAMPLE_RATE, then outputs ``onset``, ``frame`` (each divided by its own global maximum) and
``onset_raw``, ``frame_raw`` (undivided), each [1, N_PITCHES, ceil(T / EXPORT_HOP_LENGTH)].
The file is checked (:func:`septimbre.export.graph.contract_problems`) and, by default, compared
with torch on random audio of several lengths (:mod:`septimbre.export.parity`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import tempfile
import warnings
from pathlib import Path

from septimbre.export.contract import INPUT_NAME, OUTPUT_NAMES
from septimbre.export.graph import MAX_IR_VERSION, MAX_OPSET, GraphReport, contract_problems, inspect_graph
from septimbre.export.parity import PARITY_LENGTHS, PARITY_TOLERANCE, check_parity
from septimbre.utils import constants as C
from septimbre.utils.errors import ParameterError, SeptimbreError, require

logger = logging.getLogger(__name__)

#: Default opset of the export: the dynamo exporter's native opset (onnxruntime-web 1.18 runs
#: up to 21; asking it for 17 goes through a version converter that cannot convert Pad).
DEFAULT_OPSET: int = 18
#: Exporters: torch's dynamo-based one (default: it folds pads into convs and leaves no shape
#: arithmetic for static sizes) or the older TorchScript-based one.
EXPORTERS: tuple[str, ...] = ("dynamo", "torchscript")
#: Length of the example input used for tracing, samples at EXPORT_SAMPLE_RATE (odd on purpose).
TRACE_SAMPLES: int = 2 * C.EXPORT_SAMPLE_RATE + 1


def default_weights_stem() -> Path:
    """``<package>/weights/basicamt`` of the installed septimbre (editable or wheel)."""
    import septimbre

    return Path(septimbre.__file__).resolve().parent / "weights" / "basicamt"


class ExportError(SeptimbreError):
    """The exported graph breaks its contract or disagrees with the torch model."""


@contextlib.contextmanager
def _keep_small_constants():
    """Keep ``x + c`` with tiny ``c`` (and ``x * c`` with ``c`` near 1) through the dynamo export.

    onnxscript's graph optimizer, which torch's dynamo exporter runs, has "no-op" rewrite rules that
    match their constants with a tolerance (|c| <= 1e-8 counts as 0, 1e-5 relative as 1): they
    delete exactly the tiny guards a model adds before a division or a log (e.g. ``mean + 1e-20``),
    turning silence into NaN. The rules are left out while exporting. Best effort: it touches
    onnxscript's private rule list, and does nothing if that is absent; the silence parity check
    after export catches anything that slips through.
    """
    try:
        from onnxscript import rewriter
        from onnxscript.rewriter.rules.common import _no_op
    except ImportError:  # pragma: no cover - other onnxscript versions
        yield
        return
    saved = getattr(rewriter, "_DEFAULT_REWRITE_RULES", None)
    if saved is None:  # pragma: no cover
        yield
        return
    dropped = {id(rule) for rule in _no_op.rules}
    rewriter._DEFAULT_REWRITE_RULES = tuple(rule for rule in saved if id(rule) not in dropped)
    try:
        yield
    finally:
        rewriter._DEFAULT_REWRITE_RULES = saved


def _metadata(extra: dict | None) -> dict[str, str]:
    meta = {
        "septimbre.input": f"{INPUT_NAME} float32 [1, 1, T] mono at {C.EXPORT_SAMPLE_RATE} Hz",
        "septimbre.outputs": ",".join(OUTPUT_NAMES),
        "septimbre.sample_rate": str(C.EXPORT_SAMPLE_RATE),
        "septimbre.hop_length": str(C.EXPORT_HOP_LENGTH),
        "septimbre.midi_min": str(C.MIDI_MIN),
        "septimbre.n_pitches": str(C.N_PITCHES),
    }
    for key, value in (extra or {}).items():
        meta[f"septimbre.{key}"] = value if isinstance(value, str) else json.dumps(value)
    return meta


def export_onnx(
    model,
    path: str | Path,
    *,
    opset: int = DEFAULT_OPSET,
    metadata: dict | None = None,
    verify: bool = True,
    parity_lengths: tuple[int, ...] = PARITY_LENGTHS,
    tolerance: float = PARITY_TOLERANCE,
    exporter: str = "dynamo",
) -> GraphReport:
    """Wrap ``model`` (44.1 kHz front end + normalisation) and write it to ``path`` as ONNX.

    Parameters
    ----------
    model : torch.nn.Module
        ``(batch, samples)`` float32 at SAMPLE_RATE -> ``(onset, frame)`` probabilities
        ``(batch, N_PITCHES, ceil(samples / HOP_LENGTH))``. Exported in eval mode; its own
        mode is restored afterwards.
    path : path
        Output ``.onnx`` file (weights inside; parent folders are created).
    opset : int
        Default-domain opset, <= MAX_OPSET (21).
    metadata : dict, optional
        Extra ``metadata_props`` (stored as ``septimbre.<key>``; non-strings JSON-encoded).
    verify : bool
        Compare with torch via onnxruntime at ``parity_lengths`` and raise ExportError if any
        output differs by more than ``tolerance`` or is not finite.
    exporter : {"dynamo", "torchscript"}
        torch's dynamo-based exporter (default: the leaner graph) or the TorchScript-based one.

    Returns
    -------
    GraphReport
        Statistics of the written file (op histogram, IR version, ...).
    """
    import torch

    onnx = require("onnx", "train")
    from septimbre.export.wrapper import ExportWrapper

    if not 7 <= opset <= MAX_OPSET:
        raise ParameterError(f"opset must be in [7, {MAX_OPSET}], got {opset}")
    if exporter not in EXPORTERS:
        raise ParameterError(f"exporter must be one of {EXPORTERS}, got {exporter!r}")
    if exporter == "dynamo":
        require("onnxscript", "train")  # torch's dynamo exporter needs it; torch does not pull it in
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    was_training = model.training
    wrapper = ExportWrapper(model).eval()
    example = 0.1 * torch.randn(1, 1, TRACE_SAMPLES, generator=torch.Generator().manual_seed(0))
    axes = {INPUT_NAME: {2: "samples"}, **{name: {2: "frames"} for name in OUTPUT_NAMES}}
    torch_onnx_logger = logging.getLogger("torch.onnx")
    old_level = torch_onnx_logger.level
    try:
        torch_onnx_logger.setLevel(logging.ERROR)  # "torchvision is not installed" notices
        with tempfile.TemporaryDirectory() as tmp, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecation notices from the exporters' internals
            raw_path = Path(tmp) / "raw.onnx"
            kwargs = {
                "input_names": [INPUT_NAME],
                "output_names": list(OUTPUT_NAMES),
                "opset_version": opset,
                "dynamo": exporter == "dynamo",
                "verbose": False,
            }
            if exporter == "dynamo":
                samples = torch.export.Dim("samples", min=1)
                kwargs.update(dynamic_shapes=({2: samples},), external_data=False)
                with _keep_small_constants():
                    torch.onnx.export(wrapper, (example,), str(raw_path), **kwargs)
            else:
                kwargs.update(dynamic_axes=axes, do_constant_folding=True)
                torch.onnx.export(wrapper, (example,), str(raw_path), **kwargs)
            proto = onnx.load(str(raw_path))
    finally:
        model.train(was_training)
        torch_onnx_logger.setLevel(old_level)

    proto.ir_version = min(proto.ir_version, MAX_IR_VERSION)
    # The dynamo exporter annotates every intermediate value with symbolic shapes, every node with its
    # source location and the graph with torch's program signature (a listing of every parameter and
    # buffer); none is needed to run the graph, and together they outweigh the weights.
    del proto.graph.value_info[:]
    del proto.graph.metadata_props[:]
    for node in proto.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    del proto.metadata_props[:]
    for key, value in _metadata(metadata).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "septimbre.export"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save_model(proto, str(path), save_as_external_data=False)

    report = inspect_graph(path)
    problems = contract_problems(report)
    if problems:
        raise ExportError(f"{path}: " + "; ".join(problems))
    logger.info("exported %s: %d nodes, %s", path, report.n_nodes, report.watched())

    if verify:
        results = check_parity(model.eval(), path, lengths=parity_lengths)
        model.train(was_training)
        bad = [r for r in results if not (r.finite and r.max_abs_diff <= tolerance)]
        if bad:
            raise ExportError(
                f"{path}: onnxruntime disagrees with torch: "
                + ", ".join(
                    f"{r.signal} T={r.n_samples} diff={r.max_abs_diff:.2e} finite={r.finite}" for r in bad
                )
            )
        logger.info("parity ok: max abs diff %.2e", max(r.max_abs_diff for r in results))
    return report


def _random_model(seed: int):
    """A seeded, randomly initialised BasicAMT with the default config (for timing and tests)."""
    import torch
    from septimbre.basicamt.network import BasicAMT

    torch.manual_seed(seed)
    config_cls = _config_class()
    return BasicAMT(config_cls()) if config_cls is not None else BasicAMT()


def _config_class():
    try:
        from septimbre.basicamt import config as config_module
    except ImportError:
        return None
    return getattr(config_module, "BasicAMTConfig", None)


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of ``python -m septimbre.export`` / ``septimbre export-onnx``."""
    parser = argparse.ArgumentParser(
        prog="python -m septimbre.export",
        description="Export a septimbre model to ONNX (input audio [1,1,T] at 44.1 kHz; outputs "
        "onset, frame (max-normalised), onset_raw, frame_raw [1,84,ceil(T/512)]).",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="weights stem: STEM.pt (state dict) + STEM.json (config); default: packaged basicamt",
    )
    parser.add_argument("--out", help="output .onnx (default: STEM.onnx next to the weights)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (<= {MAX_OPSET})")
    parser.add_argument(
        "--random-init",
        type=int,
        metavar="SEED",
        help="ignore --model and export a randomly initialised BasicAMT (default config) seeded "
        "with SEED: for timing and tests only, its outputs mean nothing",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the onnxruntime/torch parity check")
    parser.add_argument(
        "--exporter", choices=EXPORTERS, default="dynamo", help="torch exporter (default dynamo)"
    )
    parser.add_argument("--json", action="store_true", help="print the graph report as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code (0 ok, 1 on a septimbre error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        require("torch", "train")
        meta: dict = {}
        if args.random_init is not None:
            model = _random_model(args.random_init)
            meta["weights"] = f"random-init seed {args.random_init} (timing/test only)"
            out = Path(args.out) if args.out else None
            if out is None:
                raise ParameterError("--random-init needs --out")
        else:
            from septimbre.model.io import load_model

            stem = Path(args.model) if args.model else default_weights_stem()
            if stem.suffix in (".pt", ".json", ".onnx"):
                stem = stem.with_suffix("")
            if not stem.with_suffix(".pt").is_file():
                from septimbre.utils.errors import MissingResourceError

                raise MissingResourceError(f"{stem.with_suffix('.pt')}: no such weights file")
            model, config = load_model(stem)
            from septimbre.inference import DECODER_OPTION_KEYS, THRESHOLD_KEYS

            for key in (*THRESHOLD_KEYS, *DECODER_OPTION_KEYS):  # the decoder settings shipped beside it
                if key in config:
                    meta[key] = config[key]
            meta["weights"] = stem.name
            out = Path(args.out) if args.out else stem.with_suffix(".onnx")
        report = export_onnx(
            model, out, opset=args.opset, metadata=meta, verify=not args.no_verify, exporter=args.exporter
        )
    except SeptimbreError as exc:
        print(f"error: {exc}")
        return 1
    if args.json:
        print(json.dumps(report.as_dict(), indent=1))
    else:
        print(
            f"wrote {out} ({report.file_bytes} bytes, {report.n_nodes} nodes, IR {report.ir_version}, "
            f"opset {report.opset}); watched ops {report.watched()}"
        )
    return 0
