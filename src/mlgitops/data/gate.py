"""The data gate: each dataset's whole suite in one GX ValidationDefinition (one batch per dataset),
run through a Checkpoint in an ephemeral context; severity turns results into a verdict.

Engines: `pandas` (default) reads the file into memory; `spark` runs the same suite through GX's
Spark data source for data larger than memory (needs the `spark` extra and Java).
"""
from __future__ import annotations

import contextlib
import os
import warnings
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator, Literal

from mlgitops.data.readers import load, read_frame, stream_digest
from mlgitops.data.report import DataReport, ExpectationResult
from mlgitops.data.suites import SuiteSpec, load_suite
from mlgitops.errors import BadInput

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# GX imports pyspark when present; its pandas-version FutureWarning is noise in the gate's output.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)


def _dataset(config: Any, name: str) -> Any:
    if name not in config.datasets:
        raise BadInput(f"unknown dataset '{name}'; mlgitops.yaml declares: {', '.join(config.datasets) or 'none'}")
    return config.datasets[name]


def _location(config: Any, path: str) -> str:
    resolved = config.resolve(path)
    return str(resolved)


def _context() -> Any:
    """An ephemeral GX context with progress bars off (CI logs stay readable)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


@contextlib.contextmanager
def decimal_scan_only_on_objects() -> Iterator[None]:
    """GX's column mean, sum and standard deviation look for `decimal.Decimal` values one element at a
    time in Python, even in float64 columns where none can be (a third of bare GX's time on 1M rows).
    For the duration, the scan runs only on object arrays; results are identical."""
    import great_expectations.util as gx_util

    scan = gx_util.does_ndarray_contain_decimal_dtype
    gx_util.does_ndarray_contain_decimal_dtype = lambda data: getattr(data, "dtype", object) == object and scan(data)
    try:
        yield
    finally:
        gx_util.does_ndarray_contain_decimal_dtype = scan


def _mlflow_action_class() -> Any:
    """A GX checkpoint action that logs `dq.*` metrics and the result JSON into the active MLflow run."""
    from great_expectations.checkpoint.actions import ValidationAction

    class MlflowLogAction(ValidationAction):
        type: Literal["mlgitops_mlflow"] = "mlgitops_mlflow"

        def run(self, checkpoint_result: Any, action_context: Any = None) -> dict:
            if not _mlflow_active():
                return {}
            import mlflow

            for ident, res in checkpoint_result.run_results.items():
                name = res.suite_name if hasattr(res, "suite_name") else "suite"
                stats = res.statistics
                mlflow.log_metrics({
                    f"dq.{name}.success": float(res.success),
                    f"dq.{name}.evaluated": float(stats.get("evaluated_expectations", 0)),
                    f"dq.{name}.failed": float(stats.get("unsuccessful_expectations", 0)),
                    f"dq.{name}.success_percent": float(stats.get("success_percent") or 0.0),
                })
                mlflow.log_dict(res.to_json_dict(), f"data_quality/{name}.json")
            return {}

    return MlflowLogAction


def _check_columns(suite: SuiteSpec, columns: list[str], where: str) -> None:
    missing = sorted(suite.columns() - set(columns))
    if missing:
        raise BadInput(f"{where}: column(s) {', '.join(missing)} named by suite {suite.path} are absent from the data "
                       f"(columns: {', '.join(columns)}); fix the data or the suite")


def _result(r: Any, severity: str) -> ExpectationResult:
    res = r.result or {}
    return ExpectationResult(
        expectation=r.expectation_config.type,
        column=r.expectation_config.kwargs.get("column"),
        severity=severity,
        success=bool(r.success),
        observed_value=res.get("observed_value"),
        unexpected_count=res.get("unexpected_count"),
        unexpected_percent=res.get("unexpected_percent"),
        partial_unexpected_list=list(res.get("partial_unexpected_list") or []),
    )


def run_suite(ctx: Any, name: str, suite: SuiteSpec, batch: Any, engine: str = "pandas") -> Any:
    """Validate one in-memory frame (pandas or Spark) against the suite; returns GX's suite result."""
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    gx_suite = ctx.suites.add(ExpectationSuite(name=name, expectations=[
        ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e["meta"], severity=e["severity"]).to_domain_obj()
        for e in suite.expectations]))
    source = ctx.data_sources.add_spark(f"{name}-src") if engine == "spark" else ctx.data_sources.add_pandas(f"{name}-src")
    bd = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=bd, suite=gx_suite))
    actions = [_mlflow_action_class()(name="mlflow")] if _mlflow_active() else []
    cp = ctx.checkpoints.add(gx.Checkpoint(name=name, validation_definitions=[vd], actions=actions,
                                           result_format={"result_format": "SUMMARY"}))
    result = cp.run(batch_parameters={"dataframe": batch})
    return next(iter(result.run_results.values()))


def _mlflow_active() -> bool:
    import sys

    mlflow = sys.modules.get("mlflow")
    return mlflow is not None and mlflow.active_run() is not None


def _spark_frame(location: str, fmt: str) -> Any:
    """A Spark DataFrame of the dataset (local[*] master unless SPARK_MASTER/spark-submit set one).

    s3:// is read as s3a:// (needs hadoop-aws on the Spark classpath).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise BadInput(f"{location}: engine: spark needs pyspark; pip install 'mlgitops[spark]' (and a Java runtime)") from None
    builder = SparkSession.builder.appName("mlgitops-data")
    if not os.environ.get("SPARK_MASTER") and not os.environ.get("PYSPARK_SUBMIT_ARGS"):
        builder = builder.master("local[*]")
    spark = builder.getOrCreate()
    uri = "s3a://" + location[5:] if location.startswith("s3://") else location
    try:
        if fmt == "parquet":
            return spark.read.parquet(uri)
        return spark.read.option("header", True).option("inferSchema", True).csv(uri)
    except Exception as exc:  # noqa: BLE001 - AnalysisException and friends: an unreadable file
        raise BadInput(f"{location}: Spark cannot read it as {fmt} ({str(exc).splitlines()[0]}); check the file or format:") from None


def dataset_suite(config: Any, name: str) -> SuiteSpec:
    ds = config.datasets[name]
    if not ds.suite:
        raise BadInput(f"mlgitops.yaml: dataset '{name}' has no suite; add `suite: expectations/{name}.json`")
    return load_suite(Path(config.resolve(ds.suite)))


def validate_dataset(ctx: Any, config: Any, name: str, hasher: Executor, suite: SuiteSpec | None = None) -> DataReport:
    ds = config.datasets[name]
    suite = suite or dataset_suite(config, name)
    location = _location(config, ds.path)
    if ds.engine == "spark":
        sha = stream_digest(location)  # before Spark starts, so a missing file is named as such
        frame = _spark_frame(location, ds.format)
        columns, rows = list(frame.columns), frame.count()
        if rows == 0:
            raise BadInput(f"{location}: dataset is empty (0 rows); provide at least one row")
    else:
        frame, digest = load(location, ds.format, hasher)
        columns, rows = [str(c) for c in frame.columns], len(frame)
    _check_columns(suite, columns, location)
    gx_result = run_suite(ctx, name, suite, frame, ds.engine)
    if ds.engine != "spark":
        sha = digest.result()  # hashed while GX validated
    results = [_result(r, str(getattr(r.expectation_config.severity, "value", r.expectation_config.severity))) for r in gx_result.results]
    return DataReport(dataset=name, path=str(ds.path), digest=sha, rows=rows, columns=columns,
                      engine=ds.engine, success=not any(not r.success and r.severity == "critical" for r in results),
                      results=results)


def validate(config: Any, dataset_names: list[str] | None = None, docs_dir: Path | None = None) -> list[DataReport]:
    """Run the gate for the named datasets (default: all), write a DataReport into this run's evidence for each."""
    from mlgitops.evidence import Run

    run = Run.current(config.root)  # a bad run id is refused before GX starts
    names = list(dataset_names or config.datasets)
    for n in names:
        _dataset(config, n)
    suites = {n: dataset_suite(config, n) for n in names}  # every suite checked before any data is read
    ctx = _context()
    with decimal_scan_only_on_objects(), ThreadPoolExecutor(1, thread_name_prefix="mlgitops-sha256") as hasher:
        reports = [validate_dataset(ctx, config, n, hasher, suites[n]) for n in names]
    for rep in reports:
        run.write(rep)
    if docs_dir is not None:
        build_docs(ctx, docs_dir)
    return reports


def build_docs(ctx: Any, docs_dir: Path) -> Path:
    """GX Data Docs HTML for the validations run in this context."""
    docs_dir = Path(docs_dir).resolve()
    ctx.add_data_docs_site("mlgitops", {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    ctx.build_data_docs(site_names=["mlgitops"])
    return docs_dir / "index.html"


def load_frame(config: Any, dataset_name: str) -> Any:
    """The dataset as a pandas DataFrame, read exactly as the gate reads it (no GX import)."""
    ds = _dataset(config, dataset_name)
    return read_frame(_location(config, ds.path), ds.format)
