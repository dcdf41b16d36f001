"""septimbre runner (shipped defaults); see _runner_common.

Runs in septimbre's own Python. It fails with a one-line message (exit status 2) while
``septimbre.Transcriber`` or the shipped weights are missing: it never produces notes otherwise.
It imports the package in the folder ``$SEPTIMBRE_PACKAGE_DIR`` names (the evaluator sets it to the
package it runs itself), else whatever ``import septimbre`` finds.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _runner_common import main

#: Names a Transcriber may give its thread-count option, most likely first.
THREAD_OPTIONS = ("threads", "n_threads", "num_threads", "intra_op_num_threads")


def add_arguments(parser) -> None:
    parser.add_argument("--no-separate", action="store_true", help="one track (separate=False)")
    parser.add_argument("--model", default=None, help="an .onnx file instead of the shipped model")


def _fail(message: str) -> None:
    print(f"septimbre runner: {message}", file=sys.stderr)
    raise SystemExit(2)


def _import_septimbre():
    """The septimbre package in ``$SEPTIMBRE_PACKAGE_DIR`` if set, else the importable one."""
    if "septimbre" in sys.modules:
        return sys.modules["septimbre"]
    folder = os.environ.get("SEPTIMBRE_PACKAGE_DIR")
    if not folder:
        import septimbre

        return septimbre
    init = Path(folder) / "__init__.py"
    if not init.is_file():
        _fail(f"SEPTIMBRE_PACKAGE_DIR={folder} holds no septimbre package (no __init__.py)")
    spec = importlib.util.spec_from_file_location("septimbre", init, submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules["septimbre"] = module
    spec.loader.exec_module(module)
    return module


def load(args):
    septimbre = _import_septimbre()

    transcriber_cls = getattr(septimbre, "Transcriber", None)
    if transcriber_cls is None:
        _fail("septimbre.Transcriber is not available in this checkout")
    kwargs = {} if args.model is None else {"model": args.model}
    if args.threads:
        params = inspect.signature(transcriber_cls).parameters
        name = next((n for n in THREAD_OPTIONS if n in params), None)
        if name is None:
            _fail(f"septimbre.Transcriber takes no thread option (looked for {', '.join(THREAD_OPTIONS)})")
        kwargs[name] = args.threads
    try:
        transcriber = transcriber_cls(**kwargs)
    except septimbre.SeptimbreError as exc:
        _fail(f"cannot load the shipped model: {exc}")
    return transcriber, not args.no_separate


def transcribe(model, path: str):
    transcriber, separate = model
    result = transcriber.transcribe(path, separate=separate)
    return [(n.start_s, n.end_s, n.pitch) for n in result.notes]


if __name__ == "__main__":
    septimbre = _import_septimbre()
    raise SystemExit(main("septimbre", septimbre.__version__, load, transcribe, add_arguments=add_arguments))
