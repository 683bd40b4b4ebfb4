"""CLI start-up: median wall time of `mlgitops --help` and `mlgitops config check` on the example,
as a ratio to `python -c pass` measured in the same run, plus the heavy modules each imports.

Target: `--help` under 0.5 s on 2 cores and none of great_expectations, mlflow, sklearn, pandas, pulumi_aws.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "churn"
HEAVY = ("great_expectations", "mlflow", "sklearn", "pandas", "scipy", "pulumi_aws", "pulumi")
RUNS = 15


def median_seconds(args: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_imports(args: list[str]) -> list[str]:
    err = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True).stderr
    return [m for m in HEAVY if re.search(rf"\|\s+{m}$", err, re.M)]


def main() -> None:
    base = median_seconds([sys.executable, "-c", "pass"])
    cases = {
        "mlgitops --help": ["-m", "mlgitops", "--help"],
        "mlgitops config check": ["-m", "mlgitops", "--project", str(EXAMPLE), "config", "check"],
    }
    print(f"python -c pass: {base * 1000:.0f} ms (baseline, median of {RUNS})")
    for label, args in cases.items():
        seconds = median_seconds([sys.executable, *args])
        heavy = heavy_imports(args)
        verdict = "ok" if label != "mlgitops --help" or (seconds < 0.5 and not heavy) else "OVER TARGET"
        print(
            f"{label}: {seconds * 1000:.0f} ms = {seconds / base:.1f}x baseline; heavy imports: {heavy or 'none'} [{verdict}]"
        )


if __name__ == "__main__":
    main()
