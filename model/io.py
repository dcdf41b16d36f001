"""Save and load torch models as a state dict (``.pt``) plus a JSON description (``.json``).

``save_model(model, config, "dir/basicamt")`` writes ``dir/basicamt.pt`` (``model.state_dict()`` only,
loadable with ``torch.load(..., weights_only=True)``) and ``dir/basicamt.json``::

    {
      "format": 2,
      "class": "septimbre.basicamt.network.BasicAMT",   # import path of the nn.Module
      "architecture": {...},                             # model.config as a dict (JSON-able dataclass)
      "n_parameters": 18345,
      ... every key of ``config`` (thresholds, training provenance, ...)
    }

``load_model("dir/basicamt")`` rebuilds the module from ``class`` + ``architecture`` (only classes
inside the ``septimbre`` package are accepted), loads the weights strictly and returns the module in
eval mode and the JSON dict.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from septimbre.utils.errors import MissingResourceError, ParameterError

logger = logging.getLogger(__name__)

#: 2 since BasicAMT's architecture records its ``layout``; format-1 files predate it (see
#: ``BasicAMT.upgrade_architecture``).
FORMAT_VERSION: int = 2


def _stem(path_stem: str | Path) -> Path:
    p = Path(path_stem)
    return p.with_suffix("") if p.suffix in (".pt", ".json") else p


def model_description(model, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON dict :func:`save_model` writes for ``model`` (see module docstring)."""
    arch = getattr(model, "config", None)
    if arch is None or not dataclasses.is_dataclass(arch):
        raise ParameterError(f"{type(model).__name__} needs a dataclass `config` attribute to be saved")
    desc: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "architecture": dataclasses.asdict(arch),
        "n_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }
    for key, value in (config or {}).items():
        if key in ("format", "class", "architecture", "n_parameters"):
            continue
        desc[key] = value
    return desc


def save_model(model, config: Mapping[str, Any] | None, path_stem: str | Path) -> tuple[Path, Path]:
    """Write ``<stem>.pt`` (state dict) and ``<stem>.json``; returns both paths.

    Parameters
    ----------
    model : torch.nn.Module
        A module with a dataclass ``config`` attribute and a ``from_config(dict)`` classmethod.
    config : mapping or None
        Extra JSON-able keys (e.g. ``onset_threshold``, ``frame_threshold``, ``min_note_ms``, ``training``).
    path_stem : str or Path
        Output path without suffix (a ``.pt`` / ``.json`` suffix is dropped).
    """
    import torch

    stem = _stem(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    desc = model_description(model, config)
    text = json.dumps(desc, indent=2, sort_keys=False)  # fails early on non-JSON-able config
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    pt, js = stem.with_suffix(".pt"), stem.with_suffix(".json")
    torch.save(state, pt)
    js.write_text(text + "\n")
    logger.info("saved %s (%d parameters) to %s", desc["class"], desc["n_parameters"], pt)
    return pt, js


def read_description(path_stem: str | Path) -> dict[str, Any]:
    """The JSON dict of a saved model (no torch needed)."""
    js = _stem(path_stem).with_suffix(".json")
    if not js.is_file():
        raise MissingResourceError(f"model description not found: {js}")
    return json.loads(js.read_text())


def _model_class(desc: Mapping[str, Any]):
    """The nn.Module class a model JSON names (only classes inside ``septimbre`` are accepted)."""
    qualname = str(desc.get("class", ""))
    module_name, _, cls_name = qualname.rpartition(".")
    if not module_name.startswith("septimbre."):
        raise ParameterError(f"refusing to load model class {qualname!r} (not part of septimbre)")
    return getattr(importlib.import_module(module_name), cls_name)


def upgrade_description(desc: Mapping[str, Any]) -> dict[str, Any]:
    """``desc`` in the current format: the class's ``upgrade_architecture(arch, format)`` (if it
    has one) rewrites an older file's architecture; ``format`` becomes FORMAT_VERSION."""
    out = dict(desc)
    file_format = int(out.get("format", 1))
    if file_format < FORMAT_VERSION:
        upgrade = getattr(_model_class(out), "upgrade_architecture", None)
        if upgrade is not None:
            out["architecture"] = upgrade(out.get("architecture", {}), file_format)
        out["format"] = FORMAT_VERSION
    return out


def update_description(path_stem: str | Path, **entries: Any) -> dict[str, Any]:
    """Set top-level keys of a saved model's JSON (e.g. tuned thresholds), writing it in the
    current format; returns the new dict."""
    desc = upgrade_description(read_description(path_stem))
    desc.update(entries)
    _stem(path_stem).with_suffix(".json").write_text(json.dumps(desc, indent=2) + "\n")
    return desc


def load_model(path_stem: str | Path, *, map_location: str = "cpu"):
    """Rebuild a saved model; returns ``(model in eval mode, JSON dict)``.

    Raises
    ------
    MissingResourceError
        If ``<stem>.pt`` or ``<stem>.json`` is missing.
    ParameterError
        If the JSON names a class outside ``septimbre`` or the weights do not match it.
    """
    import torch

    stem = _stem(path_stem)
    desc = read_description(stem)
    pt = stem.with_suffix(".pt")
    if not pt.is_file():
        raise MissingResourceError(f"model weights not found: {pt}")
    current = upgrade_description(desc)
    qualname = str(current.get("class", ""))
    model = _model_class(current).from_config(current["architecture"])
    state = torch.load(pt, map_location=map_location, weights_only=True)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ParameterError(f"weights in {pt} do not match {qualname}: {exc}") from exc
    model.eval()
    return model, desc
