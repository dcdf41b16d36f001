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


@pytest.fixture
def tone_trios(tmp_path):
    """A TRIOS-like folder with one piece, ``tone``: a 1 s A4 sine from 0.25 s in a 1.5 s ``mix.flac``
    at 44.1 kHz, and ``violin.mid`` holding that note. Returns the folder (the ``--trios`` root)."""
    import numpy as np

    sf = pytest.importorskip("soundfile")
    pretty_midi = pytest.importorskip("pretty_midi")
    piece = tmp_path / "trios" / "tone"
    piece.mkdir(parents=True)
    t = np.arange(int(1.5 * 44100)) / 44100
    sf.write(piece / "mix.flac", (0.3 * np.sin(2 * np.pi * 440 * t) * (t >= 0.25) * (t < 1.25)).astype(np.float32),
             44100)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    inst.notes = [pretty_midi.Note(velocity=80, pitch=69, start=0.25, end=1.25)]
    pm.instruments.append(inst)
    pm.write(str(piece / "violin.mid"))
    return tmp_path / "trios"
