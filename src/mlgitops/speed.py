"""The speed tricks, in one place: each says why it exists, and each can be turned off.

`MLGITOPS_NO_SPEEDUP=<name>[,<name>...]` (or `all`) turns tricks off, to rule one out when something behaves
oddly; results never depend on them, only the time does (`benchmarks/pipeline.py`, `benchmarks/data_gate.py`).

- `gx-decimal-scan`: Great Expectations' column mean, sum and standard deviation look for `decimal.Decimal` values
  one element at a time in Python, even in float64 columns where none can be: a third of bare GX's time on 1M rows.
  While the gate runs, the scan runs only on object arrays; results are identical.
- `skops-first`: skops (the sklearn flavor's model format) looks up every numpy and scipy ufunc by scanning
  `sys.modules`, which takes a second longer once MLflow's modules are loaded, so it is imported before MLflow.
- `fast-exit`: tearing down every module after GX, MLflow and pandas takes 1-2 s, so the CLI ends with `os._exit`
  after running the atexit handlers and flushing its streams (mypy does the same).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

OFF = "MLGITOPS_NO_SPEEDUP"
TRICKS = ("gx-decimal-scan", "skops-first", "fast-exit")


def enabled(trick: str) -> bool:
    """Whether `trick` is on (it is, unless MLGITOPS_NO_SPEEDUP names it or says `all`)."""
    off = {t.strip() for t in os.environ.get(OFF, "").split(",")}
    return trick not in off and "all" not in off


@contextlib.contextmanager
def gx_decimal_scan() -> Iterator[None]:
    """For the duration, GX scans only object arrays for Decimal values (`gx-decimal-scan`)."""
    if not enabled("gx-decimal-scan"):
        yield
        return
    import great_expectations.util as gx_util

    scan = gx_util.does_ndarray_contain_decimal_dtype
    gx_util.does_ndarray_contain_decimal_dtype = lambda data: getattr(data, "dtype", object) == object and scan(data)  # noqa: E721 - numpy's dtype('O') equals object
    try:
        yield
    finally:
        gx_util.does_ndarray_contain_decimal_dtype = scan


def import_mlflow() -> Any:
    """`import mlflow`, with skops imported first (`skops-first`)."""
    if enabled("skops-first"):
        with contextlib.suppress(ImportError):
            import skops.io  # noqa: F401
    import mlflow

    return mlflow


def exit(code: int) -> None:
    """End the process with `code`: atexit handlers run and streams are flushed, modules are not torn down
    (`fast-exit`); a plain `sys.exit` when the trick is off."""
    if not enabled("fast-exit"):
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    with contextlib.suppress(OSError):  # a closed pipe (`mlgitops report | head`)
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
