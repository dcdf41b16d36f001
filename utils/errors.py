"""Exception hierarchy: every error septimbre raises on purpose derives from SeptimbreError."""

from __future__ import annotations


class SeptimbreError(Exception):
    """Base class of all septimbre errors."""


class ParameterError(SeptimbreError, ValueError):
    """An argument has an invalid value, type or shape."""


class AudioLoadError(SeptimbreError, OSError):
    """An audio file is missing, unreadable or empty."""


class NoteFileError(SeptimbreError, ValueError):
    """A note file (MIDI, CSV, JSON) cannot be read as notes: wrong format, columns or values."""


class MissingDependencyError(SeptimbreError, ImportError):
    """An optional dependency is not installed; the message carries the install hint."""


class MissingResourceError(SeptimbreError, FileNotFoundError):
    """A required external resource (soundfont, weight file, dataset) is absent."""


def require(module: str, extra: str):
    """Import ``module`` or raise MissingDependencyError naming ``pip install 'septimbre[extra]'``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only where the extra is absent
        raise MissingDependencyError(
            f"{module} is needed here: pip install 'septimbre[{extra}]'"
        ) from exc
