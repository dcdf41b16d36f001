"""``python -m septimbre.data``: bad configs, values and folders end in one error line and exit 1."""

from __future__ import annotations

from septimbre.data.cli import main


def test_build_with_a_bad_config_or_length_is_one_error_line(tmp_path, capsys):
    cases = [
        (["build", "--config", "no_such_split", "--hours", "1", "--out", str(tmp_path / "a")], "config file not found"),
        (["build", "--config", "val", "--hours", "0", "--out", str(tmp_path / "b")], "hours must be positive"),
        (["build", "--config", "val", "--hours", "1", "--start", "-3", "--out", str(tmp_path / "b")], "start must be"),
    ]
    for argv, needle in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"error: {err[0][7:]}"] and needle in err[0], err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
