"""The training command's choice of memory allocator (re-run under tcmalloc when installed)."""

from __future__ import annotations

import pytest

from septimbre.utils.allocator import REEXEC_MARK, find_tcmalloc, preload_env
from septimbre.utils.errors import MissingResourceError, ParameterError


@pytest.fixture
def fake_tcmalloc(tmp_path):
    lib = tmp_path / "libtcmalloc_minimal.so.4"
    lib.write_bytes(b"")
    return [str(tmp_path / "absent.so"), str(lib)]


def test_auto_preloads_an_installed_tcmalloc_once(fake_tcmalloc):
    env = preload_env("auto", {"PATH": "/bin"}, candidates=fake_tcmalloc)
    assert env["LD_PRELOAD"] == fake_tcmalloc[1] and env[REEXEC_MARK] == "1" and env["PATH"] == "/bin"
    assert preload_env("auto", env, candidates=fake_tcmalloc) is None  # the re-run does not re-run


def test_an_existing_preload_is_kept_after_tcmalloc(fake_tcmalloc):
    env = preload_env("tcmalloc", {"LD_PRELOAD": "/x/libfoo.so"}, candidates=fake_tcmalloc)
    assert env["LD_PRELOAD"] == f"{fake_tcmalloc[1]}:/x/libfoo.so"
    assert preload_env("auto", {"LD_PRELOAD": "/y/libtcmalloc.so.4"}, candidates=fake_tcmalloc) is None


def test_system_never_changes_anything(fake_tcmalloc):
    assert preload_env("system", {}, candidates=fake_tcmalloc) is None


def test_missing_tcmalloc_is_a_warning_for_auto_and_an_error_when_required(tmp_path, caplog):
    absent = [str(tmp_path / "none.so")]
    assert find_tcmalloc(absent) is None
    assert preload_env("auto", {}, candidates=absent) is None
    assert "libtcmalloc-minimal4" in caplog.text
    with pytest.raises(MissingResourceError, match="libtcmalloc-minimal4"):
        preload_env("tcmalloc", {}, candidates=absent)
    with pytest.raises(ParameterError):
        preload_env("jemalloc", {}, candidates=absent)
