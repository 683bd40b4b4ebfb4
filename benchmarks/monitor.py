"""`mlgitops monitor`'s reading and statistics on 1M captured records vs scipy and pandas alone on the same files.

Writes 1M single-row requests (MLflow `dataframe_split`, the example churn model's four columns, a prediction each)
as SageMaker data-capture JSON Lines over ten hours, then times, each in a fresh process:
- mlgitops: `monitoring.capture.read` + `monitoring.drift` (PSI and KS/chi-squared per feature, Benjamini-Hochberg,
  the predictions' shift);
- baseline: `pandas.read_json(lines=True)` per file, `json.loads` of each request body into one frame, then numpy
  PSI and scipy's `ks_2samp` / `chi2_contingency` / `false_discovery_control` for the same features.
Prints both times, their ratio (issue target: at most 2x) and each process's peak memory (target: under 2 GB).
The GX schema check and loading the model are not statistics and are left out of both.
Run: `python benchmarks/monitor.py [RECORDS]`.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "examples" / "churn" / "data" / "train.csv"
FEATURES = ["tenure_months", "monthly_charges", "support_tickets", "contract"]
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HOURS = 10


def generate(folder: Path, n: int) -> None:
    """`n` records spread over HOURS hour folders, written the way the capture writer writes them."""
    import numpy as np

    rng = np.random.default_rng(0)
    tenure = rng.integers(0, 72, n)
    charges = np.round(rng.normal(70, 30, n).clip(18, 200), 2)
    tickets = rng.poisson(1.2, n)
    contract = rng.choice(["monthly", "annual", "two_year"], n, p=[0.5, 0.3, 0.2])
    churned = rng.integers(0, 2, n)
    per_hour = -(-n // HOURS)
    for h in range(HOURS):
        hour = START + dt.timedelta(hours=h)
        path = folder / f"{hour:%Y/%m/%d/%H}" / f"00-00-000-{h:08d}-0000-0000-0000-000000000000.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = []
        for i in range(h * per_hour, min(n, (h + 1) * per_hour)):
            body = json.dumps(
                {
                    "dataframe_split": {
                        "columns": FEATURES,
                        "data": [[int(tenure[i]), float(charges[i]), int(tickets[i]), str(contract[i])]],
                    }
                }
            )
            when = (hour + dt.timedelta(milliseconds=(i % per_hour) * 3)).strftime(
                "%Y-%m-%dT%H:%M:%S."
            ) + f"{(i % per_hour) * 3 % 1000:03d}Z"
            lines.append(
                json.dumps(
                    {
                        "captureData": {
                            "endpointInput": {
                                "observedContentType": "application/json",
                                "mode": "INPUT",
                                "data": body,
                                "encoding": "JSON",
                            },
                            "endpointOutput": {
                                "observedContentType": "application/json",
                                "mode": "OUTPUT",
                                "data": f'{{"predictions": [{churned[i]}]}}',
                                "encoding": "JSON",
                            },
                        },
                        "eventMetadata": {"eventId": f"{i:08d}-0000-0000-0000-000000000000", "inferenceTime": when},
                        "eventVersion": "0",
                    },
                    separators=(",", ":"),
                )
            )
        path.write_text("\n".join(lines) + "\n")


def run_mlgitops(folder: Path) -> int:
    import pandas as pd

    from mlgitops.config.schema import Monitoring
    from mlgitops.monitoring import capture, drift

    settings = Monitoring()
    ref = pd.read_csv(REFERENCE)
    since, until = START, START + dt.timedelta(hours=HOURS)
    seen = capture.read(capture.local_files(folder, since, until), since, until, FEATURES)
    live = seen.inputs()
    drift.verdicts(FEATURES, [drift.compare(ref[f], live[f], settings.bins) for f in FEATURES], settings)
    drift.compare(ref["churned"].astype(str), pd.Series(seen.predictions).astype(str), settings.bins)
    return len(live)


def run_baseline(folder: Path) -> int:
    """The same statistics with pandas and scipy alone."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    ref = pd.read_csv(REFERENCE)
    frames, predictions = [], []
    for path in sorted(folder.rglob("*.jsonl")):
        raw = pd.read_json(path, lines=True, dtype=False)
        inputs = [json.loads(c["endpointInput"]["data"])["dataframe_split"] for c in raw["captureData"]]
        frames.append(pd.DataFrame([row for s in inputs for row in s["data"]], columns=inputs[0]["columns"]))
        predictions += [p for c in raw["captureData"] for p in json.loads(c["endpointOutput"]["data"])["predictions"]]
    live = pd.concat(frames, ignore_index=True)
    p_values = []

    def psi(a: np.ndarray, b: np.ndarray) -> float:
        a, b = np.maximum(a / a.sum(), 1e-4), np.maximum(b / b.sum(), 1e-4)
        return float(np.sum((b - a) * np.log(b / a)))

    for name in FEATURES:
        if ref[name].dtype.kind in "if":
            edges = np.unique(np.quantile(ref[name], np.linspace(0, 1, 11)[1:-1]))
            psi(
                np.bincount(np.searchsorted(edges, ref[name], side="right"), minlength=len(edges) + 1).astype(float),
                np.bincount(np.searchsorted(edges, live[name], side="right"), minlength=len(edges) + 1).astype(float),
            )
            p_values.append(stats.ks_2samp(ref[name], live[name]).pvalue)
        else:
            table = pd.concat([ref[name].value_counts(), live[name].value_counts()], axis=1).fillna(0).to_numpy().T
            psi(table[0], table[1])
            p_values.append(stats.chi2_contingency(table, correction=False)[1])
    stats.false_discovery_control(p_values, method="bh")
    table = (
        pd.concat(
            [ref["churned"].astype(str).value_counts(), pd.Series(predictions).astype(str).value_counts()], axis=1
        )
        .fillna(0)
        .to_numpy()
        .T
    )
    stats.chi2_contingency(table, correction=False)
    return len(live)


def child(which: str, folder: Path) -> None:
    """One measurement in this process: imports first (not timed), then the work; prints seconds, rows, peak RSS."""
    import pandas  # noqa: F401
    import scipy.stats  # noqa: F401

    import mlgitops.monitoring.drift  # noqa: F401

    t = time.perf_counter()
    rows = (run_mlgitops if which == "mlgitops" else run_baseline)(folder)
    seconds = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": peak_mb}))


def main(n: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="mlgitops-bench-monitor-"))
    t = time.perf_counter()
    generate(folder, n)
    size = sum(p.stat().st_size for p in folder.rglob("*.jsonl")) / 1e6
    print(f"wrote {n:,} captured records ({size:,.0f} MB) in {time.perf_counter() - t:.1f} s under {folder}")
    results = {}
    for which in ("mlgitops", "baseline"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", which, str(folder)], capture_output=True, text=True, check=True
        )
        results[which] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[which]
        print(f"{which:<9} {r['seconds']:>7.2f} s  {r['rows']:>9,} rows  peak {r['peak_mb']:>7,.0f} MB")
    ratio = results["mlgitops"]["seconds"] / results["baseline"]["seconds"]
    peak = results["mlgitops"]["peak_mb"]
    print(
        f"mlgitops/baseline time ratio {ratio:.2f}x (target at most 2x: {'met' if ratio <= 2 else 'missed'}); "
        f"peak memory {peak:,.0f} MB (target under 2048 MB: {'met' if peak < 2048 else 'missed'})"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
