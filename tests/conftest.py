"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def double(tmp_path_factory):
    """Path of a small ONNX test double with the export contract (and its JSON beside it)."""
    pytest.importorskip("onnx")
    from septimbre.testing import build_test_double, write_test_config

    folder = tmp_path_factory.mktemp("double")
    path = build_test_double(folder / "double.onnx")
    write_test_config(folder / "double.json")
    return path
