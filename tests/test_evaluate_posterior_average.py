"""The posterior-average diagnostic: element-wise means, thresholds of the first model, CLI."""

from __future__ import annotations

import numpy as np
import pytest
from septimbre.evaluate.posterior_average import AverageRow, average_posteriors, format_average
from septimbre.utils.errors import ParameterError


def test_average_posteriors_is_the_element_wise_mean():
    a = (np.full((84, 5), 0.2, np.float32), np.zeros((84, 5), np.float32))
    b = (np.full((84, 5), 0.6, np.float32), np.ones((84, 5), np.float32))
    onset, frame = average_posteriors([a, b])
    assert onset.dtype == np.float32 and onset.shape == (84, 5)
    np.testing.assert_allclose(onset, 0.4, rtol=1e-6)
    np.testing.assert_allclose(frame, 0.5)
    # one model: its own posteriors back
    np.testing.assert_array_equal(average_posteriors([a])[0], a[0])


def test_average_posteriors_refuses_nothing_and_mismatched_shapes():
    with pytest.raises(ParameterError):
        average_posteriors([])
    a = (np.zeros((84, 5), np.float32), np.zeros((84, 5), np.float32))
    b = (np.zeros((84, 6), np.float32), np.zeros((84, 6), np.float32))
    with pytest.raises(ParameterError, match="shape"):
        average_posteriors([a, b])


def test_format_average_prints_a_mean_row_per_set():
    rows = [AverageRow("trios", "a", (0.8, 0.6), 0.9), AverageRow("trios", "b", (0.6, 0.8), 0.7),
            AverageRow("unseen", "000001", (0.5, 0.5), 0.5)]
    text = format_average(rows, ["x/one.onnx", "y/two.onnx"])
    assert "model 1: x/one.onnx" in text and "model 2: y/two.onnx" in text
    mean = next(line for line in text.splitlines() if line.startswith("trios") and " mean " in line)
    assert mean.split()[-3:] == ["0.700", "0.700", "0.800"]
    assert sum(" mean " in line for line in text.splitlines()) == 2


def test_posterior_average_command_on_the_test_double(tmp_path, tone_trios, capsys):
    # Two copies of the ONNX test double on a 1 s A4 tone: each alone and their average find it.
    pytest.importorskip("onnx")
    from septimbre.evaluate.cli import main
    from septimbre.testing import build_test_double, write_test_config

    models = []
    for name in ("one", "two"):
        model = build_test_double(tmp_path / name / "basicamt.onnx")
        write_test_config(model.with_suffix(".json"))
        models.append(str(model))

    rc = main(["posterior-average", *models, "--sets", "trios", "--trios", str(tone_trios)])
    text = capsys.readouterr().out
    assert rc == 0, text
    row = next(line for line in text.splitlines() if line.startswith("trios") and " tone " in line)
    assert row.split()[-3:] == ["1.000", "1.000", "1.000"]

    assert main(["posterior-average", models[0], "--sets", "trios", "--trios", str(tone_trios)]) == 2
    assert "two or more" in capsys.readouterr().err
