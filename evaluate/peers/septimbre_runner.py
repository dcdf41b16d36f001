"""septimbre runner (shipped defaults); see _runner_common.

Runs in septimbre's own Python. It fails with a one-line message (exit status 2) while
``septimbre.Transcriber`` or the shipped weights are missing: it never produces notes otherwise.
"""

from __future__ import annotations

import inspect
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


def load(args):
    import septimbre

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
    import septimbre

    raise SystemExit(main("septimbre", septimbre.__version__, load, transcribe, add_arguments=add_arguments))
