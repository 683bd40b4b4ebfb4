"""The speed tricks (mlgitops.speed) change only the time: each can be turned off, and results stay the same."""

from __future__ import annotations

import decimal
import subprocess
import sys

import numpy as np
import pytest

from mlgitops import speed


def test_each_trick_is_on_unless_named_and_all_turns_every_one_off(monkeypatch):
    assert all(speed.enabled(t) for t in speed.TRICKS)
    monkeypatch.setenv(speed.OFF, "gx-decimal-scan, fast-exit")
    assert [speed.enabled(t) for t in speed.TRICKS] == [False, True, False]
    monkeypatch.setenv(speed.OFF, "all")
    assert not any(speed.enabled(t) for t in speed.TRICKS)


@pytest.mark.parametrize("off", ["", "gx-decimal-scan"])
def test_the_decimal_scan_finds_the_same_decimals_and_is_restored(monkeypatch, off):
    import great_expectations.util as gx_util

    monkeypatch.setenv(speed.OFF, off)
    original = gx_util.does_ndarray_contain_decimal_dtype
    with speed.gx_decimal_scan():
        assert (gx_util.does_ndarray_contain_decimal_dtype is original) == bool(off)
        assert gx_util.does_ndarray_contain_decimal_dtype(np.array([decimal.Decimal("1.5"), 2], dtype=object))
        assert not gx_util.does_ndarray_contain_decimal_dtype(np.array([1.5, 2.0]))
    assert gx_util.does_ndarray_contain_decimal_dtype is original


@pytest.mark.parametrize("off", ["", "fast-exit"])
def test_the_cli_exit_code_is_the_same_with_or_without_the_fast_exit(tmp_path, off):
    env = {"MLGITOPS_NO_SPEEDUP": off, "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "mlgitops", "--version"], capture_output=True, text=True, env=env)
    bad = subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(tmp_path), "config", "check"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (ok.returncode, ok.stdout.startswith("mlgitops ")) == (0, True)
    assert bad.returncode == 2 and "mlgitops.yaml" in bad.stderr and "Traceback" not in bad.stderr
