"""septimbre: lightweight multi-instrument transcription (notes split into one track per timbre).

Public API::

    import septimbre
    result = septimbre.transcribe("song.flac")          # -> Transcription
    result.to_midi("song.mid")
    tr = septimbre.Transcriber(threads=2)               # load once, run many
    for path in paths:
        tr.transcribe(path).to_csv(path + ".csv")

The names below are imported lazily so that ``import septimbre`` stays light (no onnxruntime,
torch or matplotlib until a model is actually run or a plot drawn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"


def _map_checkout_folders() -> None:
    """Let a source checkout import as installed (e.g. ``python -c 'import septimbre'`` in the repo root).

    Installed, ``septimbre.utils`` etc. are mapped from the top-level folders by setuptools'
    package-dir. Imported straight from a checkout (the folder on ``sys.path`` shadows the installed
    package), this package's ``__path__`` would not reach them: add the checkout root, recognised by
    its pyproject.toml and ``utils/constants.py``, so ``septimbre.utils`` resolves to ``<root>/utils``.
    """
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    is_checkout = (root / "pyproject.toml").is_file() and (root / "utils" / "constants.py").is_file()
    if is_checkout and str(root) not in __path__:
        __path__.append(str(root))


_map_checkout_folders()

from septimbre.utils.errors import SeptimbreError

if TYPE_CHECKING:  # pragma: no cover
    from septimbre.api import transcribe
    from septimbre.inference import Transcriber
    from septimbre.utils.notes import Note, Track, Transcription

_LAZY = {
    "transcribe": "septimbre.api",
    "Transcriber": "septimbre.inference",
    "Note": "septimbre.utils.notes",
    "Track": "septimbre.utils.notes",
    "Transcription": "septimbre.utils.notes",
}

__all__ = ["Note", "SeptimbreError", "Track", "Transcriber", "Transcription", "__version__", "transcribe"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'septimbre' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
