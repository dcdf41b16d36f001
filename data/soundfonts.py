"""Where the Debian General MIDI soundfonts live, and which package provides each one.

A soundfont is named in configs by a short key (``"TimGM6mb"``); :func:`find_soundfont` turns it
into a path or raises :class:`~septimbre.utils.errors.MissingResourceError` naming the Debian
package to install. Search order: the ``SEPTIMBRE_SOUNDFONT_DIR`` environment variable (if set),
then ``/usr/share/sounds/sf2`` and ``/usr/share/sounds/sf3``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from septimbre.utils.errors import MissingResourceError

#: Environment variable naming an extra folder searched first for soundfont files.
SOUNDFONT_DIR_ENV = "SEPTIMBRE_SOUNDFONT_DIR"
#: System folders searched for soundfont files (Debian layout).
SYSTEM_SOUNDFONT_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/sounds/sf3"))


@dataclass(frozen=True)
class SoundfontSpec:
    """A known soundfont: config key, candidate file names and the Debian package shipping it."""

    key: str
    filenames: tuple[str, ...]
    debian_package: str


#: The soundfonts the data engine knows. Train/val use the first three, the "unseen timbres"
#: split uses FluidR3_GM only (see data/configs/*.json).
SOUNDFONTS: dict[str, SoundfontSpec] = {
    s.key: s
    for s in (
        SoundfontSpec("TimGM6mb", ("TimGM6mb.sf2",), "timgm6mb-soundfont"),
        SoundfontSpec("sf_GMbank", ("sf_GMbank.sf2",), "csound-soundfont"),
        # The Lite file first: the packages musescore-general-soundfont(-lossless) repoint the
        # MuseScore_General.sf3 alternative to their larger sample set, which must not silently
        # change what the splits render (they were built from the Lite file).
        SoundfontSpec(
            "MuseScore_General",
            ("MuseScore_General_Lite.sf3", "MuseScore_General.sf3", "MuseScore_General.sf2"),
            "musescore-general-soundfont-small",
        ),
        SoundfontSpec("FluidR3_GM", ("FluidR3_GM.sf2",), "fluid-soundfont-gm"),
    )
}


def soundfont_dirs() -> list[Path]:
    """Folders searched for soundfonts, in order."""
    dirs = []
    extra = os.environ.get(SOUNDFONT_DIR_ENV)
    if extra:
        dirs.append(Path(extra))
    dirs.extend(SYSTEM_SOUNDFONT_DIRS)
    return dirs


def find_soundfont(key: str, *, search_dirs: list[Path] | None = None) -> Path:
    """Path of the soundfont called ``key`` in configs.

    Parameters
    ----------
    key : str
        A key of :data:`SOUNDFONTS` (e.g. ``"TimGM6mb"``).
    search_dirs : list of Path, optional
        Folders to search instead of :func:`soundfont_dirs`.

    Raises
    ------
    MissingResourceError
        The file is in none of the folders; the message names the Debian package to install.
    KeyError
        ``key`` is not a known soundfont.
    """
    spec = SOUNDFONTS[key]
    dirs = soundfont_dirs() if search_dirs is None else [Path(d) for d in search_dirs]
    for d in dirs:
        for name in spec.filenames:
            path = d / name
            if path.is_file():
                return path.resolve()
    raise MissingResourceError(
        f"soundfont {key!r} ({' or '.join(spec.filenames)}) not found in "
        f"{', '.join(str(d) for d in dirs)}: install it with "
        f"`sudo apt-get install {spec.debian_package}` (or set {SOUNDFONT_DIR_ENV} to a folder holding it)"
    )
