"""Suite-wide test set-up."""
import sys

# pytest-xdist workers run under a bare `__main__` (no __file__, no spec), which pyspark.sql.connect
# (imported by GX when pyspark is installed) mistakes for a doctest run and answers with sys.exit(0).
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = "<pytest-xdist worker>"
