"""JSON config files that may derive from another: the ``"base"`` chain shared by split configs
(``data/configs``) and training configs (``basicamt/configs``).

A file holds one JSON object. If it has ``"base": NAME`` it starts from that config's fields
(a bare name is a file in the caller's config folder, ``config_dir``; a path is relative to the
deriving file's folder)
and its own fields replace the base's, except the *merged* fields the caller names, whose dict
values merge key by key. ``comment`` is dropped at every level, and ``base`` never reaches the
caller, so the resolved dict is exactly what the file would hold written out in full.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from septimbre.utils.errors import ParameterError


def config_path(path: str | Path, config_dir: Path, folder: Path | None = None) -> Path:
    """Where ``path`` points: a bare name (no suffix) means ``config_dir/<name>.json`` (at the top
    level only when no such file or folder exists as given); a relative path inside a chain is
    relative to ``folder``, the deriving file's folder."""
    p = Path(path)
    if not p.suffix:
        named = config_dir / f"{path}.json"
        if not p.exists() or folder is not None:
            p = named
    elif folder is not None and not p.is_absolute():
        p = folder / p
    return p


def load_derived_json(
    path: str | Path,
    *,
    config_dir: Path,
    merged_fields: tuple[str, ...] = (),
    required_when_derived: tuple[str, ...] = (),
    _seen: tuple[Path, ...] = (),
) -> dict[str, Any]:
    """The fields of the config at ``path`` with its ``"base"`` chain resolved.

    Parameters
    ----------
    path : str or Path
        A file, or a bare name in ``config_dir``.
    config_dir : Path
        The folder bare names refer to.
    merged_fields : tuple of str
        Fields whose dict values merge key by key into the base's (the others replace).
    required_when_derived : tuple of str
        Fields a deriving file must set itself (a split's ``name``, so no two splits share one).

    Raises
    ------
    ParameterError
        A missing file, bad JSON, a non-object, a base cycle, or a derived file that lacks a
        required field.
    """
    p = config_path(path, config_dir, _seen[-1].parent if _seen else None).resolve()
    if p in _seen:
        chain = " -> ".join(q.stem for q in (*_seen, p))
        raise ParameterError(f"config base cycle: {chain}")
    try:
        raw = json.loads(p.read_text())
    except FileNotFoundError as exc:
        raise ParameterError(f"config file not found: {p}") from exc
    except ValueError as exc:
        raise ParameterError(f"config {p} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ParameterError(f"config {p} must hold a JSON object")
    raw.pop("comment", None)
    base_name = raw.pop("base", None)
    if base_name is None:
        return raw
    for key in required_when_derived:
        if key not in raw:
            raise ParameterError(f"config {p} derives from {base_name!r} and must set its own {key}")
    merged = load_derived_json(base_name, config_dir=config_dir, merged_fields=merged_fields,
                               required_when_derived=required_when_derived, _seen=(*_seen, p))
    for key, value in raw.items():
        if key in merged_fields and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
