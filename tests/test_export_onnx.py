"""ONNX export: graph contract, front end, normalisation, parity with torch, shipped files.

The test double is a seeded, randomly initialised BasicAMT (default config) when
``septimbre.basicamt.network`` exists, else a tiny stand-in with the same I/O contract.
One export per test session (module-scoped fixture); each check runs onnxruntime on short inputs.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import torch.nn.functional as F
from septimbre.export.contract import INPUT_NAME, NORM_FLOOR, OUTPUT_NAMES
from septimbre.export.graph import contract_problems, inspect_graph
from septimbre.export.halfband import halfband_taps
from septimbre.export.onnx_export import export_onnx, main
from septimbre.export.parity import PARITY_TOLERANCE, check_parity, onnx_session
from septimbre.export.wrapper import ExportWrapper
from septimbre.utils.constants import (
    EXPORT_HOP_LENGTH,
    EXPORT_SAMPLE_RATE,
    HOP_LENGTH,
    N_PITCHES,
    n_frames,
)
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "septimbre" / "weights"


class StandIn(nn.Module):
    """(batch, samples) at SAMPLE_RATE -> (onset, frame) (batch, 84, ceil(samples / 256)).

    Has what the checks look at: a log with an eps, a dilated conv, sigmoids.
    """

    def __init__(self) -> None:
        super().__init__()
        self.front = nn.Conv1d(1, 16, 2 * HOP_LENGTH, stride=HOP_LENGTH, bias=False)
        self.dilated = nn.Conv2d(1, 2, (3, 3), dilation=(3, 1), padding=(3, 1))
        self.head = nn.Conv1d(2 * 16, 2 * N_PITCHES, 1)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.pad(audio.unsqueeze(1), (HOP_LENGTH, HOP_LENGTH - 1))  # frame i centred at 256 i
        x = torch.log(self.front(x) ** 2 + 1e-6)
        x = torch.relu(self.dilated(x.unsqueeze(1))).flatten(1, 2)
        onset, frame = torch.sigmoid(self.head(x)).split(N_PITCHES, dim=1)
        return onset, frame


def basicamt_available() -> bool:
    try:
        import septimbre.basicamt.network  # noqa: F401
    except ImportError:
        return False
    return True


def build_test_model(seed: int = 0) -> nn.Module:
    """Seeded random BasicAMT (default config) if it exists, else the stand-in; eval mode."""
    torch.manual_seed(seed)
    if basicamt_available():
        from septimbre.export.onnx_export import _random_model

        return _random_model(seed).eval()
    return StandIn().eval()


@functools.lru_cache(maxsize=1)
def exported_test_model() -> tuple[nn.Module, Path, object]:
    """(model, path, report) of one export per test session (shared with test_export_node.py).

    With BasicAMT available the file is written by the command line (``main --random-init 0``),
    and ``model`` is the same seeded random BasicAMT rebuilt here, so parity also checks that.
    """
    tmp = Path(tempfile.mkdtemp(prefix="septimbre-export-test-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    path = tmp / "model.onnx"
    model = build_test_model(0)
    if basicamt_available():
        assert main(["--random-init", "0", "--out", str(path), "--no-verify"]) == 0
    else:
        export_onnx(model, path, verify=False)
    return model, path, inspect_graph(path)


@pytest.fixture(scope="module")
def exported():
    return exported_test_model()


# --- front end -------------------------------------------------------------------------------


def test_halfband_is_symmetric_unit_gain_halfband():
    h = halfband_taps()
    centre = (h.size - 1) // 2
    assert h.size % 2 == 1
    np.testing.assert_allclose(h, h[::-1], atol=0)
    assert h.sum() == pytest.approx(1.0, abs=1e-12)
    # half-band: every second tap away from the centre is zero, the others are not
    offsets = np.arange(h.size) - centre
    assert np.all(h[(offsets % 2 == 0) & (offsets != 0)] == 0.0)
    assert np.all(h[offsets % 2 == 1] != 0.0)


def test_halfband_response_passes_cqt_band_and_stops_aliases():
    h = halfband_taps()
    n = np.arange(h.size) - (h.size - 1) // 2

    def gain_db(f_hz):
        return 20 * np.log10(abs(np.sum(h * np.exp(-2j * np.pi * f_hz * n / EXPORT_SAMPLE_RATE))))

    # the top CQT bin is ~8.3 kHz: flat there; anything that would alias below 9 kHz is stopped
    for f in (50.0, 1000.0, 5000.0, 8300.0, 9000.0):
        assert abs(gain_db(f)) < 0.01, f
    for f in np.linspace(EXPORT_SAMPLE_RATE / 2 - 9000.0, EXPORT_SAMPLE_RATE / 2, 50):
        assert gain_db(f) < -70.0, f


@pytest.mark.parametrize("n", [1, 2, 3, 100, 511, 512, 513, 1025])
def test_decimation_length_and_zero_phase(n):
    wrapper = ExportWrapper(nn.Identity())
    x = torch.zeros(1, 1, n)
    x[0, 0, (n - 1) // 2 * 2 // 2 * 2 if n > 1 else 0] = 1.0
    y = wrapper.decimate(x)
    assert y.shape == (1, 1, -(-n // 2))
    # an impulse at input sample 2j comes out centred on output sample j
    j = int(torch.nonzero(x[0, 0])[0]) // 2
    assert int(torch.argmax(y[0, 0])) == j


def test_decimation_equals_the_plain_strided_fir():
    wrapper = ExportWrapper(nn.Identity())
    taps = halfband_taps()
    weight = torch.tensor(taps, dtype=torch.float32).view(1, 1, -1)
    g = torch.Generator().manual_seed(0)
    for n in (1, 2, 100, 513, 4097):
        x = torch.randn(1, 1, n, generator=g)
        plain = F.conv1d(x, weight, stride=2, padding=(taps.size - 1) // 2)
        torch.testing.assert_close(wrapper.decimate(x), plain, atol=1e-6, rtol=0)


def test_decimation_keeps_a_sine():
    t = np.arange(EXPORT_SAMPLE_RATE) / EXPORT_SAMPLE_RATE
    x = np.sin(2 * np.pi * 1234.5 * t).astype(np.float32)
    y = ExportWrapper(nn.Identity()).decimate(torch.from_numpy(x).view(1, 1, -1))[0, 0].numpy()
    want = x[::2]
    inner = slice(100, -100)  # away from the zero padding at the ends
    np.testing.assert_allclose(y[inner], want[inner], atol=1e-4)


def test_normalise_divides_by_max_and_keeps_zeros_finite():
    x = torch.tensor([[[0.1, 0.4], [0.2, 0.3]]])
    np.testing.assert_allclose(ExportWrapper.normalise(x).numpy(), (x / 0.4).numpy())
    z = ExportWrapper.normalise(torch.zeros(1, 84, 3))
    assert torch.isfinite(z).all() and float(z.max()) == 0.0


# --- graph -----------------------------------------------------------------------------------


def test_graph_meets_contract(exported):
    _, path, report = exported
    assert contract_problems(report) == []
    assert report.ir_version <= 10 and report.opset <= 21
    assert set(report.domains) <= {"", "ai.onnx"}
    assert not report.external_data
    assert report.op_counts.get("ScatterND", 0) == 0
    assert report.input_names == (INPUT_NAME,) and report.output_names == OUTPUT_NAMES
    assert report.input_shape[:2] == (1, 1) and isinstance(report.input_shape[2], str)
    for shape in report.output_shapes:
        assert shape[:2] == (1, N_PITCHES) and isinstance(shape[2], str)
    # weights inside the file: every initializer carries its data
    proto = onnx.load(str(path), load_external_data=False)
    assert all(init.data_location != onnx.TensorProto.EXTERNAL for init in proto.graph.initializer)
    onnx.checker.check_model(proto, full_check=True)
    # the exporter's symbolic-shape annotations, source locations and program signature are stripped
    # (they outweighed the weights); only the graph's own inputs and outputs carry shapes
    assert len(proto.graph.value_info) == 0
    assert not any(node.metadata_props or node.doc_string for node in proto.graph.node)
    assert len(proto.graph.metadata_props) == 0


def _conv_pads(path: Path) -> tuple[int, int]:
    """(convs with a kernel or dilation > 1, dilated convs) of an ONNX file; asserts every such conv
    carries explicit ``pads`` and no ``auto_pad``."""
    proto = onnx.load(str(path))
    spatial = dilated = 0
    for node in proto.graph.node:
        if node.op_type != "Conv":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET"), node.name
        is_dilated = any(d != 1 for d in attrs.get("dilations", []))
        if is_dilated or any(k > 1 for k in attrs.get("kernel_shape", [])):
            spatial += 1
            dilated += is_dilated
            assert "pads" in attrs, node.name
    return spatial, dilated


def test_convs_have_explicit_pads(exported, tmp_path):
    _, path, _ = exported
    spatial, _ = _conv_pads(path)
    assert spatial >= 10  # CQT, decimators and the network's convs are all in the graph
    if basicamt_available():
        # the 252-bin trunk has a dilated conv: its pads must be explicit too
        import torch
        from septimbre.basicamt.network import BasicAMT, BasicAMTConfig

        torch.manual_seed(0)
        bins = BasicAMT(BasicAMTConfig(layout="bins", early_channels=4, early_kernel=(3, 3), context_dilation=3,
                                       context_blocks=1, neck_channels=4, onset_channels=4))
        export_onnx(bins, tmp_path / "bins.onnx", verify=False)
        assert _conv_pads(tmp_path / "bins.onnx")[1] >= 1


def test_onset_spectral_view_exports_with_parity(tmp_path):
    """A BasicAMT whose onset branch has its own view of the spectrum exports and matches torch."""
    if not basicamt_available():
        pytest.skip("BasicAMT (torch) not available")
    import torch
    from septimbre.basicamt.network import BasicAMT, BasicAMTConfig

    torch.manual_seed(0)
    model = BasicAMT(BasicAMTConfig(early_channels=4, neck_channels=4, onset_channels=4,
                                    onset_spectral_channels=3))
    report = export_onnx(model, tmp_path / "spectral.onnx", parity_lengths=(513, 7919))  # verify=True raises on a mismatch
    assert report.n_nodes > 0


def test_log_eps_survives_export(exported):
    _, _, report = exported
    assert len(report.log_eps) >= 1
    for eps in report.log_eps:
        assert eps is not None and eps > 0.0


class _TinyGuard(nn.Module):
    """Energy-normalised stand-in: silence is 0 / (0 + 1e-20), finite only if the 1e-20 survives."""

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.avg_pool1d(
            F.pad(audio.unsqueeze(1) ** 2, (HOP_LENGTH, HOP_LENGTH - 1)), 2 * HOP_LENGTH, HOP_LENGTH
        )
        x = torch.log(x / (x.mean() + 1e-20) + 1e-6).expand(-1, N_PITCHES, -1)
        return torch.sigmoid(x), torch.sigmoid(-x)


def test_tiny_guards_survive_export(tmp_path):
    # onnxscript's optimizer would drop "+ 1e-20" as "+ 0"; export_onnx keeps it (silence parity)
    path = tmp_path / "guard.onnx"
    export_onnx(_TinyGuard(), path, verify=False)
    out = onnx_session(path).run(None, {INPUT_NAME: np.zeros((1, 1, 1000), np.float32)})
    assert all(np.all(np.isfinite(o)) for o in out)
    adds = [c for c in inspect_graph(path).op_counts.items() if c[0] == "Add"]
    assert adds and adds[0][1] >= 2


def test_contract_checks_catch_violations(exported):
    _, path, _ = exported
    proto = onnx.load(str(path))
    proto.ir_version = 11
    conv = next(n for n in proto.graph.node if n.op_type == "Conv")
    conv.attribute.append(onnx.helper.make_attribute("auto_pad", "SAME_UPPER"))
    log = next(n for n in proto.graph.node if n.op_type == "Log")
    log.input[0] = INPUT_NAME  # the eps is gone
    proto.graph.node.append(onnx.helper.make_node("ScatterND", ["a", "b", "c"], ["d"]))
    proto.graph.output[0].name = "onsets"
    text = "; ".join(contract_problems(inspect_graph(proto)))
    for needle in ("IR version 11", "SAME_UPPER", "ScatterND", "epsilon", "outputs"):
        assert needle in text, needle


# --- numbers ---------------------------------------------------------------------------------


def test_parity_with_torch(exported):
    model, path, _ = exported
    results = check_parity(model, path, lengths=(1, 100, 512, 513, 7919, EXPORT_SAMPLE_RATE + 1))
    assert {r.signal for r in results} == {"noise", "silence"}
    for r in results:
        assert r.finite, r
        assert r.max_abs_diff <= PARITY_TOLERANCE, r


@pytest.mark.parametrize("n", [1, 100, 512, 513, EXPORT_SAMPLE_RATE])
def test_silence_and_short_inputs_give_finite_normalised_outputs(exported, n):
    _, path, _ = exported
    session = onnx_session(path)
    for audio in (np.zeros((1, 1, n), np.float32), np.full((1, 1, n), 0.5, np.float32)):
        outs = dict(zip(OUTPUT_NAMES, session.run(list(OUTPUT_NAMES), {INPUT_NAME: audio})))
        for name, value in outs.items():
            assert value.shape == (1, N_PITCHES, n_frames(n, hop_length=EXPORT_HOP_LENGTH)), name
            assert np.all(np.isfinite(value)), name
        for name in ("onset", "frame"):
            raw = outs[f"{name}_raw"]
            np.testing.assert_allclose(outs[name], raw / max(raw.max(), NORM_FLOOR), rtol=1e-6, atol=1e-7)
            if raw.max() >= NORM_FLOOR:
                assert outs[name].max() == pytest.approx(1.0, abs=1e-6)


def test_main_reports_missing_weights(tmp_path, capsys):
    assert main(["--model", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.onnx")]) == 1
    assert "nothing.pt" in capsys.readouterr().out
    assert not (tmp_path / "x.onnx").exists()


def test_shipped_onnx_matches_shipped_weights():
    onnx_path, pt_path = WEIGHTS / "basicamt.onnx", WEIGHTS / "basicamt.pt"
    if not (onnx_path.is_file() and pt_path.is_file()):
        pytest.skip(
            "septimbre/weights/basicamt.{onnx,pt} not shipped yet (the lead adds them after training)"
        )
    from septimbre.model.io import load_model

    assert contract_problems(inspect_graph(onnx_path)) == []
    model, _ = load_model(WEIGHTS / "basicamt")
    for r in check_parity(model.eval(), onnx_path, lengths=(513, 2 * EXPORT_SAMPLE_RATE + 1)):
        assert r.finite and r.max_abs_diff <= PARITY_TOLERANCE, r
