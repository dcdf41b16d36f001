"""The transcribers compared by ``septimbre.evaluate``: septimbre and its peers, each run as a subprocess.

Peers are *not* dependencies of septimbre: each lives in its own virtualenv under the peers folder
(``$SEPTIMBRE_PEERS_DIR``, else ``peers/`` in the source checkout, else ``~/.cache/septimbre/peers``)
made by :func:`setup_peer` (``python -m septimbre.evaluate setup-peers``). Every system is run by a
small runner script in ``evaluate/peers/`` through the same protocol (see ``_runner_common.py``):
model loaded once, each file timed in process, notes and peak RSS written as JSON.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from septimbre.utils.errors import MissingResourceError, ParameterError, SeptimbreError

logger = logging.getLogger(__name__)

RUNNERS_DIR = Path(__file__).resolve().parent / "peers"
OURS = "septimbre"
#: Environment variable naming the septimbre package folder the septimbre runner imports: the one
#: this process imported, so a source checkout evaluates itself, not another installed version.
PACKAGE_DIR_ENV = "SEPTIMBRE_PACKAGE_DIR"


@dataclass(frozen=True)
class PeerSpec:
    """How to install and run one peer transcriber in its own virtualenv.

    ``steps`` are pip argument lists run in order inside the venv.
    """

    name: str
    venv: str
    runner: str
    steps: tuple[tuple[str, ...], ...]
    check: str  # a Python statement that must succeed in the venv once installed


PEERS: dict[str, PeerSpec] = {
    "basic-pitch": PeerSpec(
        name="basic-pitch",
        venv="basic-pitch",
        runner="basic_pitch_runner.py",
        steps=(
            ("--no-deps", "basic-pitch==0.4.0"),
            ("onnxruntime", "librosa", "pretty_midi", "resampy", "mir_eval", "setuptools<81",
             "numpy", "scipy", "soundfile"),
        ),
        check="import onnxruntime, basic_pitch.inference",
    ),
    "harmonica": PeerSpec(
        name="harmonica",
        venv="harmonica",
        runner="harmonica_runner.py",
        steps=(
            ("torch==2.13.0",),
            ("--no-deps", "--ignore-requires-python", "harmonica-amt==0.3.0"),
            ("loguru", "nnaudio", "omegaconf", "symusic", "typer", "soundfile", "scipy", "numpy"),
        ),
        check="import harmonica; harmonica.Harmonica('small', device='cpu')",
    ),
}


def peers_dir() -> Path:
    """Folder holding the peers' virtualenvs (see the module docstring)."""
    env = os.environ.get("SEPTIMBRE_PEERS_DIR")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "peers"
    return Path.home() / ".cache" / "septimbre" / "peers"


def peer_spec(name: str) -> PeerSpec:
    try:
        return PEERS[name]
    except KeyError:
        raise ParameterError(f"unknown peer {name!r}; known: {', '.join(PEERS)}") from None


def venv_python(spec: PeerSpec, *, root: Path | None = None) -> Path:
    return (root or peers_dir()) / spec.venv / "bin" / "python"


def _marker(spec: PeerSpec, root: Path) -> Path:
    return root / spec.venv / ".septimbre-peer"


def _recipe(spec: PeerSpec) -> str:
    return json.dumps([list(s) for s in spec.steps])


def setup_peer(name: str, *, root: Path | None = None, force: bool = False) -> Path:
    """Create (or reuse) the peer's virtualenv and install it; idempotent. Returns its python.

    A marker file records the installed recipe; a venv whose marker matches is left as it is.
    """
    spec = peer_spec(name)
    root = root or peers_dir()
    python = venv_python(spec, root=root)
    marker = _marker(spec, root)
    if not force and marker.is_file() and marker.read_text() == _recipe(spec) and python.exists():
        logger.info("%s: already installed in %s", name, python.parent.parent)
        return python
    root.mkdir(parents=True, exist_ok=True)
    if not python.exists():
        logger.info("%s: creating %s", name, python.parent.parent)
        subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
    for step in spec.steps:
        logger.info("%s: pip install %s", name, " ".join(step))
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *step], check=True
        )
    subprocess.run([str(python), "-c", spec.check], check=True, capture_output=True)
    marker.write_text(_recipe(spec))
    return python


@dataclass(frozen=True)
class FileRun:
    """One file transcribed by one system: notes as (start_s, end_s, pitch), wall and CPU seconds."""

    path: str
    audio_s: float
    seconds: float
    cpu_seconds: float
    notes: tuple[tuple[float, float, int], ...]


@dataclass(frozen=True)
class SystemRun:
    """One runner process: its files, load time, warm-up time (or None) and peak RSS in bytes."""

    system: str
    version: str
    threads: int
    load_s: float
    warmup_s: float | None
    maxrss_bytes: int
    files: tuple[FileRun, ...]


class SystemFailed(SeptimbreError):
    """A system could not be run (not installed, no weights, crashed); the message says why."""


def runner_command(system: str, *, root: Path | None = None) -> list[str]:
    """Python executable and runner script of ``system`` (``"septimbre"`` or a peer's name)."""
    if system == OURS:
        return [sys.executable, str(RUNNERS_DIR / "septimbre_runner.py")]
    spec = peer_spec(system)
    python = venv_python(spec, root=root)
    if not python.exists():
        raise MissingResourceError(
            f"{system} is not installed ({python} missing): run `python -m septimbre.evaluate setup-peers`"
        )
    return [str(python), str(RUNNERS_DIR / spec.runner)]


def thread_env(threads: int) -> dict[str, str]:
    """Environment for a runner: thread-pool sizes pinned when ``threads`` > 0."""
    env = dict(os.environ)
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
            env[var] = str(threads)
    return env


def runner_env(system: str, threads: int) -> dict[str, str]:
    """:func:`thread_env`, plus, for septimbre, the folder of the package this process runs
    (``$SEPTIMBRE_PACKAGE_DIR``), which its runner imports instead of whatever ``import septimbre``
    would find from the runner's own folder."""
    env = thread_env(threads)
    if system == OURS:
        import septimbre

        env[PACKAGE_DIR_ENV] = str(Path(septimbre.__file__).resolve().parent)
    return env


def parse_runner_output(doc: dict) -> SystemRun:
    """Runner JSON document -> :class:`SystemRun`."""
    files = tuple(
        FileRun(
            path=f["path"], audio_s=float(f["audio_s"]), seconds=float(f["seconds"]),
            cpu_seconds=float(f.get("cpu_seconds", "nan")),
            notes=tuple((float(s), float(e), int(p)) for s, e, p in f["notes"]),
        )
        for f in doc["files"]
    )
    return SystemRun(
        system=doc["system"], version=doc["version"], threads=int(doc["threads"]),
        load_s=float(doc["load_s"]),
        warmup_s=None if doc.get("warmup_s") is None else float(doc["warmup_s"]),
        maxrss_bytes=int(doc["maxrss_bytes"]), files=files,
    )


def run_system(
    system: str,
    audio_paths: Sequence[str | Path],
    *,
    threads: int = 0,
    warmup: bool = False,
    extra_args: Sequence[str] = (),
    timeout_s: float | None = None,
    root: Path | None = None,
) -> SystemRun:
    """Run one system's runner on ``audio_paths`` in a fresh subprocess.

    Raises
    ------
    SystemFailed
        The runner is missing or exited non-zero (its last stderr lines are in the message).
    """
    if not audio_paths:
        raise ParameterError("no audio files to transcribe")
    try:
        cmd = runner_command(system, root=root)
    except MissingResourceError as exc:
        raise SystemFailed(str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="septimbre-eval-") as tmp:
        out = Path(tmp) / "notes.json"
        cmd = [*cmd, "--out", str(out), "--threads", str(threads), *extra_args]
        if warmup:
            cmd.append("--warmup")
        cmd += [str(p) for p in audio_paths]
        logger.info("running %s", " ".join(cmd))
        try:
            proc = subprocess.run(
                cmd, env=runner_env(system, threads), capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise SystemFailed(f"{system}: timed out after {timeout_s} s") from exc
        if proc.returncode != 0 or not out.is_file():
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            raise SystemFailed(f"{system}: runner exited {proc.returncode}: {tail}")
        return parse_runner_output(json.loads(out.read_text()))
