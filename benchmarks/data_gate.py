"""Benchmark the data gate: `mlgitops data validate` (in process, no interpreter start) vs a bare GX
`ValidationDefinition.run` of the same suite on the same frame, in the same process.

    .venv/bin/python benchmarks/data_gate.py [--rows 1000000 10000000]
    .venv/bin/python benchmarks/data_gate.py --spark [--rows 10000000]   # the Spark row (needs Java)

Timing runs both sides in one child per size; peak RSS is measured in a second child running only
our gate (data generation included, so it is an upper bound). Prints rows/s, the ratio
ours / bare GX (target <= 1.2x) and ours / (bare GX + reading the file), and peak RSS (target: 10M
rows within 3 GB). Our time includes reading the Parquet file and hashing its bytes.

The gate carries a fix for a GX slowness (`mlgitops.speed.gx_decimal_scan`); "bare+fix" is bare GX with
that fix applied too, so ours / (bare+fix + read) is the cost of everything else the gate does.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 3
SPARK_REPEATS = 2

SUITE = {
    "name": "bench",
    "meta": {},
    "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "severity": "critical"},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}, "severity": "critical"},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "age", "min_value": 0, "max_value": 120},
            "severity": "critical",
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "plan", "value_set": ["a", "b", "c", "d"]},
            "severity": "critical",
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "score", "min_value": 0.0, "max_value": 1.0},
            "severity": "warning",
        },
        {
            "type": "expect_column_mean_to_be_between",
            "kwargs": {"column": "amount", "min_value": 0, "max_value": 1000},
            "severity": "warning",
        },
    ],
}


def make_project(root: Path, rows: int) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    (root / "data").mkdir(parents=True)
    (root / "expectations").mkdir()
    pd.DataFrame(
        {
            "id": np.arange(rows),
            "age": rng.integers(0, 100, rows),
            "plan": pd.Categorical(rng.choice(["a", "b", "c", "d"], rows)).astype(str),
            "score": rng.random(rows),
            "amount": rng.random(rows) * 500,
        }
    ).to_parquet(root / "data/big.parquet", index=False)
    (root / "expectations/bench.json").write_text(json.dumps(SUITE))
    (root / "mlgitops.yaml").write_text(
        "project: bench\nowner: a@example.com\ncloud: {provider: aws, region: eu-west-1, account_id: '123456789012'}\n"
        "datasets:\n  big: {path: data/big.parquet, suite: expectations/bench.json}\n"
    )
    return root


def child_rss(rows: int) -> dict:
    """Our gate alone in a fresh process: its peak RSS is the memory figure that matters."""
    from mlgitops.config import load
    from mlgitops.data import validate

    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp), rows)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert validate(load(root))[0].success
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "before_mb": base}


def bare_validation(ctx, suite, engine: str):
    """Bare GX: the suite as one ValidationDefinition over a whole dataframe of `engine` (pandas or spark)."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    gs = ctx.suites.add(
        ExpectationSuite(
            name="bare",
            expectations=[
                ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], severity=e["severity"]).to_domain_obj()
                for e in suite.expectations
            ],
        )
    )
    source = ctx.data_sources.add_pandas("bare") if engine == "pandas" else ctx.data_sources.add_spark("bare")
    bd = source.add_dataframe_asset("bare").add_batch_definition_whole_dataframe("bare")
    return ctx.validation_definitions.add(gx.ValidationDefinition(name="bare", data=bd, suite=gs))


def child(rows: int) -> dict:
    import great_expectations  # noqa: F401 - one import, paid before timing either side
    import pandas as pd

    from mlgitops.config import load
    from mlgitops.data import validate
    from mlgitops.data.gate import _context
    from mlgitops.data.suites import load_suite
    from mlgitops.speed import gx_decimal_scan

    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp), rows)
        config = load(root)
        t = time.perf_counter()
        frame = pd.read_parquet(root / "data/big.parquet")
        read_s = time.perf_counter() - t
        suite = load_suite(root / "expectations/bench.json")

        vd = bare_validation(_context(), suite, "pandas")  # bare GX: one ValidationDefinition over the same frame
        bare_s = fixed_s = ours_s = float("inf")
        for _ in range(REPEATS):  # alternate, keep the best of each: GX warms caches on a first run
            t = time.perf_counter()
            vd.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "SUMMARY"})
            bare_s = min(bare_s, time.perf_counter() - t)
            with gx_decimal_scan():
                t = time.perf_counter()
                vd.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "SUMMARY"})
                fixed_s = min(fixed_s, time.perf_counter() - t)
            t = time.perf_counter()
            report = validate(config)[0]
            ours_s = min(ours_s, time.perf_counter() - t)
        del frame
        assert report.success and report.rows == rows
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": rows,
        "bare_s": bare_s,
        "fixed_s": fixed_s,
        "read_s": read_s,
        "ours_s": ours_s,
        "peak_rss_mb": rss_mb,
    }


def child_spark(rows: int) -> dict:
    """The Spark row: our gate with `engine: spark` vs bare GX on Spark (same suite, same Parquet file, one
    local[*] session started before timing either side). Memory: the driver JVM's peak (VmHWM) and ours."""
    import great_expectations  # noqa: F401 - paid before timing either side

    from mlgitops.config import load
    from mlgitops.data import spark as our_spark
    from mlgitops.data import validate
    from mlgitops.data.gate import _context
    from mlgitops.data.suites import load_suite

    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp), rows)
        text = (
            (root / "mlgitops.yaml")
            .read_text()
            .replace("suite: expectations/bench.json}", "suite: expectations/bench.json, engine: spark}")
        )
        (root / "mlgitops.yaml").write_text(text)
        config = load(root)
        session = our_spark.session(*our_spark.settings(config, config.datasets["big"]))
        suite = load_suite(root / "expectations/bench.json")
        vd = bare_validation(_context(), suite, "spark")
        bare_s = ours_s = float("inf")
        for _ in range(SPARK_REPEATS):
            t = time.perf_counter()
            frame = session.read.parquet(str(root / "data/big.parquet"))
            vd.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "SUMMARY"})
            bare_s = min(bare_s, time.perf_counter() - t)
            t = time.perf_counter()
            report = validate(config)[0]
            ours_s = min(ours_s, time.perf_counter() - t)
        assert report.success and report.rows == rows
        from pyspark import SparkContext

        jvm_kb = _vm_hwm_kb(SparkContext._gateway.proc.pid)
    return {
        "rows": rows,
        "bare_s": bare_s,
        "ours_s": ours_s,
        "driver_jvm_peak_mb": jvm_kb / 1024,
        "python_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _vm_hwm_kb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1])
    return float("nan")


def main_spark(rows_list: list[int]) -> None:
    print(
        f"{'rows (spark)':>12} {'bare GX s':>10} {'ours s':>7} {'ours/bare':>10} {'rows/s':>12} {'driver JVM peak MB':>19} {'python peak MB':>15}"
    )
    for rows in rows_list:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(rows), "--spark"], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{rows:>12,} {r['bare_s']:>10.2f} {r['ours_s']:>7.2f} {r['ours_s'] / r['bare_s']:>9.2f}x {rows / r['ours_s']:>12,.0f} "
            f"{r['driver_jvm_peak_mb']:>19,.0f} {r['python_peak_rss_mb']:>15,.0f}"
        )
    print("target: ours/bare <= 1.2x (ours also streams the sha256 of the file and checks column types)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--child", type=int)
    ap.add_argument("--rss", action="store_true")
    ap.add_argument("--spark", action="store_true", help="the Spark row: engine: spark on local[*] vs bare GX on Spark")
    args = ap.parse_args()
    if args.child:
        print(
            json.dumps(
                child_spark(args.child) if args.spark else child_rss(args.child) if args.rss else child(args.child)
            )
        )
        return
    if args.spark:
        main_spark(args.rows)
        return
    print(
        f"{'rows':>11} {'bare GX s':>10} {'bare+fix s':>11} {'read s':>7} {'ours s':>7} {'ours/bare':>10} {'ours/(bare+read)':>17} "
        f"{'ours/(bare+fix+read)':>21} {'rows/s':>12} {'peak RSS MB':>12}"
    )
    for rows in args.rows:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(rows)], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rss = subprocess.run(
            [sys.executable, __file__, "--child", str(rows), "--rss"], capture_output=True, text=True, check=True
        )
        r["peak_rss_mb"] = json.loads(rss.stdout.strip().splitlines()[-1])["peak_rss_mb"]
        print(
            f"{rows:>11,} {r['bare_s']:>10.2f} {r['fixed_s']:>11.2f} {r['read_s']:>7.2f} {r['ours_s']:>7.2f} {r['ours_s'] / r['bare_s']:>9.2f}x "
            f"{r['ours_s'] / (r['bare_s'] + r['read_s']):>16.2f}x {r['ours_s'] / (r['fixed_s'] + r['read_s']):>20.2f}x "
            f"{rows / r['ours_s']:>12,.0f} {r['peak_rss_mb']:>12,.0f}"
        )
    print(
        "targets: ours/bare <= 1.2x (the file read and sha256 are ours only; see the last ratio), 10M rows <= 3072 MB"
    )


if __name__ == "__main__":
    main()
