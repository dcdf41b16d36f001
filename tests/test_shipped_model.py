"""Regression of the shipped note model on the bundled example (fixture: make_shipped_regression.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "septimbre" / "weights"
EXAMPLES = ROOT / "septimbre" / "examples"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "shipped_duet.npz"


@pytest.fixture(scope="module")
def shipped():
    from septimbre.inference import Transcriber

    return Transcriber()


def test_shipped_files_and_config():
    # The bundled model is complete: ONNX graph, torch state dict, and a JSON with tuned thresholds.
    for suffix in (".onnx", ".pt", ".json"):
        assert (WEIGHTS / f"basicamt{suffix}").is_file(), suffix
    cfg = json.loads((WEIGHTS / "basicamt.json").read_text())
    assert cfg["thresholds_tuned"] is True
    assert 0.0 < cfg["onset_threshold"] < 1.0 and 0.0 < cfg["frame_threshold"] < 1.0
    assert 0 < cfg["n_parameters"] <= 20_000


def test_onnx_metadata_carries_the_shipped_decoder_settings():
    # noteDigger reads the thresholds from the graph's metadata: they must be the JSON's.
    onnx = pytest.importorskip("onnx")
    from septimbre.inference import DECODER_OPTION_KEYS, THRESHOLD_KEYS

    cfg = json.loads((WEIGHTS / "basicamt.json").read_text())
    meta = {p.key: p.value for p in onnx.load(str(WEIGHTS / "basicamt.onnx")).metadata_props}
    for key in (*THRESHOLD_KEYS, *DECODER_OPTION_KEYS):
        if key in cfg:
            assert meta[f"septimbre.{key}"] == json.dumps(cfg[key]), key
    assert "septimbre.onset_threshold" in meta


def test_fixture_matches_the_shipped_onnx():
    # The regression fixture was made from exactly the ONNX file that ships (regenerate it otherwise).
    with np.load(FIXTURE) as z:
        sha = str(z["onnx_sha256"])
    assert hashlib.sha256((WEIGHTS / "basicamt.onnx").read_bytes()).hexdigest() == sha


def test_posteriors_reproduce(shipped):
    # Raw posteriorgrams on the duet equal the committed ones (onnxruntime versions may differ slightly).
    onset, frame = shipped.posteriors(EXAMPLES / "duet.flac")
    with np.load(FIXTURE) as z:
        np.testing.assert_allclose(onset, z["onset"], atol=1e-4)
        np.testing.assert_allclose(frame, z["frame"], atol=1e-4)


def test_notes_reproduce(shipped):
    # The decoded notes are exactly the committed ones (same pitches, times to the microsecond).
    got = np.array([(n.start_s, n.end_s, n.pitch) for n in
                    shipped.transcribe(EXAMPLES / "duet.flac", separate=False).notes]).reshape(-1, 3)
    with np.load(FIXTURE) as z:
        np.testing.assert_allclose(got, z["notes"], atol=1e-6)


def test_duet_is_transcribed_well(shipped):
    # Behaviour, not just regression: most notes of the duet's own score are found (onset +-50 ms).
    pytest.importorskip("mir_eval")
    from septimbre.evaluate.metrics import note_prf
    from septimbre.utils.notes import Transcription

    ref = Transcription.from_midi(EXAMPLES / "duet.mid").notes
    est = shipped.transcribe(EXAMPLES / "duet.flac", separate=False).notes
    precision, recall, f1 = note_prf(ref, est)
    assert f1 >= DUET_MIN_F1, (precision, recall, f1)


#: Measured note F1 of the shipped model on the duet minus a margin (see the closing note of the
#: training issue); a retrained model that falls below it is a regression worth a look.
DUET_MIN_F1 = 0.7


def test_a_note_sounding_from_the_first_sample_starts_at_zero(shipped):
    # A file that starts on a note (an excerpt cut mid-note) has no silence before the attack. The
    # model learnt from crops that cut notes, so without the runtime's lead-in silence this A4 gets
    # a peak onset posterior of about 0.05 (under the shipped 0.075) and is lost.
    t = np.arange(int(1.5 * 44100)) / 44100
    x = sum(0.5 ** k * np.sin(2 * np.pi * 440.0 * (k + 1) * t) for k in range(4)) * 0.2
    notes = shipped.transcribe(x.astype(np.float32), 44100, separate=False).notes
    assert [n.pitch for n in notes] == [69]
    assert notes[0].start_s < 0.03 and notes[0].end_s > 1.4


def test_windowed_inference_equals_one_pass_with_the_shipped_model():
    # With the real network (sliding energy normalisation, CQT, convs), 2.3 s windows with the default
    # context reproduce one pass over the whole 6.4 s clip: the seams leave no trace.
    from septimbre.inference import DEFAULT_CONTEXT_FRAMES, Transcriber

    one_pass = Transcriber(step_frames=4096)
    windowed = Transcriber(step_frames=200, context_frames=DEFAULT_CONTEXT_FRAMES, fade_frames=0)
    a_on, a_fr = one_pass.posteriors(EXAMPLES / "duet.flac")
    b_on, b_fr = windowed.posteriors(EXAMPLES / "duet.flac")
    np.testing.assert_allclose(b_on, a_on, atol=1e-5)
    np.testing.assert_allclose(b_fr, a_fr, atol=1e-5)
