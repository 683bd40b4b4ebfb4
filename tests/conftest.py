"""Suite-wide test set-up."""

import sys

import pytest

# pytest-xdist workers run under a bare `__main__` (no __file__, no spec), which pyspark.sql.connect
# (imported by GX when pyspark is installed) mistakes for a doctest run and answers with sys.exit(0).
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = "<pytest-xdist worker>"


@pytest.fixture(scope="session")
def moto_s3():
    """A real S3 API on 127.0.0.1 (`moto_server`), with this process's and its children's boto3 and MLflow pointed at it."""
    from moto_helpers import moto_server

    with moto_server() as url:
        yield url
