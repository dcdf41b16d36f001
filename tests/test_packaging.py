"""Packaging guard: mapped folders are packages, listed in pyproject, and never top-level names."""

from __future__ import annotations

import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
MAPPED = ["basicamt", "model", "utils", "data", "evaluate", "export"]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_mapped_folder_is_a_listed_package():
    cfg = _pyproject()["tool"]["setuptools"]
    for name in MAPPED:
        assert (ROOT / name / "__init__.py").is_file(), name
        assert f"septimbre.{name}" in cfg["packages"], name
        assert cfg["package-dir"][f"septimbre.{name}"] == name


def test_generic_names_are_not_importable_top_level():
    import septimbre.utils.constants  # noqa: F401

    for name in MAPPED:
        mod = sys.modules.get(name)
        assert mod is None or "septimbre" in getattr(mod, "__file__", "septimbre"), name


def test_import_is_light():
    import subprocess

    code = (
        "import sys, septimbre; "
        "heavy = [m for m in ('torch', 'onnxruntime', 'matplotlib', 'mir_eval') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
