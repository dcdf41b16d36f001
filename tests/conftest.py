"""Shared fixtures."""

from __future__ import annotations

import hashlib
import json

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


@pytest.fixture(scope="session")
def settings_digest():
    """``digest(fields, added_later)``: sha256 of a resolved config's JSON fields (keys sorted), where
    a field in ``added_later`` holding its neutral value (the value that behaves as before the field
    existed) is left out, so configs written before it still match their recorded digests."""

    def digest(fields: dict, added_later: dict) -> str:
        fields = json.loads(json.dumps(fields))
        for key, neutral in added_later.items():
            if fields.get(key) == neutral:
                del fields[key]
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

    return digest
