"""The bundled example: present, small, matching its committed score, and transcribable."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from septimbre.utils.notes import Transcription

EXAMPLES = Path(__file__).resolve().parents[1] / "septimbre" / "examples"


def test_example_files():
    # The rendered duet is a few seconds of mono audio under 300 KB; its score has two named parts.
    audio = EXAMPLES / "duet.flac"
    assert audio.stat().st_size < 300_000
    info = sf.info(str(audio))
    assert info.channels == 1 and 5.0 < info.duration < 8.0
    score = Transcription.from_midi(EXAMPLES / "duet.mid")
    assert [t.name for t in score.tracks] == ["flute", "cello"]
    assert [len(score.track_notes(i)) for i in range(2)] == [8, 5]


def test_example_matches_its_script():
    # duet.mid is exactly what make_example.py's score() writes (the script is the source of truth).
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_example", EXAMPLES / "make_example.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    want = [(round(n.start, 3), n.pitch) for inst in mod.score().instruments for n in inst.notes]
    got = [(round(n.start_s, 3), n.pitch) for i in range(2) for n in Transcription.from_midi(
        EXAMPLES / "duet.mid").track_notes(i)]
    assert got == want


def test_example_transcribes(double):
    # The example runs end to end through the streaming pipeline (with the ONNX test double).
    from septimbre.inference import Transcriber

    result = Transcriber(double).transcribe(EXAMPLES / "duet.flac")
    assert result.duration_s == pytest.approx(sf.info(str(EXAMPLES / "duet.flac")).duration, abs=1e-3)
    assert len(result.notes) > 5
