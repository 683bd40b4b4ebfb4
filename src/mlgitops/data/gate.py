"""The data gate: each dataset's whole suite in one GX ValidationDefinition (one batch per dataset),
run through a Checkpoint in an ephemeral context; severity turns results into a verdict.

Engines: `pandas` (default) reads the file into memory; `spark` runs the same suite through GX's
Spark data source for data larger than memory (needs the `spark` extra and Java). Both read a CSV
with the same null tokens and column types (`columns.py`), so they give the same verdict.
An expectation GX could not evaluate (its result carries an exception) is bad input, not a failure:
the suite does not fit the data.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlgitops.data.readers import load, read_frame, stream_digest
from mlgitops.data.report import DataReport, ExpectationResult, Validation
from mlgitops.data.suites import SuiteSpec, load_suite
from mlgitops.errors import BadInput
from mlgitops.speed import gx_decimal_scan

if TYPE_CHECKING:
    from mlgitops.config import Project

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# GX imports pyspark when present; its pandas-version FutureWarning is noise in the gate's output.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)


def _dataset(config: Project, name: str) -> Any:
    if name not in config.datasets:
        raise BadInput(f"unknown dataset '{name}'; mlgitops.yaml declares: {', '.join(config.datasets) or 'none'}")
    return config.datasets[name]


def _location(config: Project, path: str) -> str:
    resolved = config.resolve(path)
    return str(resolved)


def _context() -> Any:
    """An ephemeral GX context with progress bars off (CI logs stay readable)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def _mlflow_action_class() -> Any:
    """A GX checkpoint action that logs `dq.*` metrics and the result JSON into the active MLflow run."""
    from great_expectations.checkpoint.actions import ValidationAction

    class MlflowLogAction(ValidationAction):
        type: Literal["mlgitops_mlflow"] = "mlgitops_mlflow"

        def run(self, checkpoint_result: Any, action_context: Any = None) -> dict:
            if not _mlflow_active():
                return {}
            import mlflow

            for res in checkpoint_result.run_results.values():
                name = res.suite_name if hasattr(res, "suite_name") else "suite"
                stats = res.statistics
                mlflow.log_metrics(
                    {
                        f"dq.{name}.success": float(res.success),
                        f"dq.{name}.evaluated": float(stats.get("evaluated_expectations", 0)),
                        f"dq.{name}.failed": float(stats.get("unsuccessful_expectations", 0)),
                        f"dq.{name}.success_percent": float(stats.get("success_percent") or 0.0),
                    }
                )
                mlflow.log_dict(res.to_json_dict(), f"data_quality/{name}.json")
            return {}

    return MlflowLogAction


def _check_columns(suite: SuiteSpec, columns: list[str], where: str) -> None:
    missing = sorted(suite.columns() - set(columns))
    if missing:
        raise BadInput(
            f"{where}: column(s) {', '.join(missing)} named by suite {suite.path} are absent from the data "
            f"(columns: {', '.join(columns)}); fix the data or the suite"
        )


def _exception(r: Any) -> str | None:
    """The message of the exception GX raised evaluating this expectation, if it did. GX reports either one
    flat `exception_info` or one per metric that could not be computed."""
    info = r.exception_info or {}
    found = (
        [info]
        if "raised_exception" in info
        else [v for v in info.values() if hasattr(v, "get") or hasattr(v, "raised_exception")]
    )
    for one in found:
        raised = one.get("raised_exception") if hasattr(one, "get") else getattr(one, "raised_exception", False)
        if raised:
            message = one.get("exception_message") if hasattr(one, "get") else getattr(one, "exception_message", "")
            lines = [ln.strip() for ln in str(message or "").splitlines() if ln.strip()]
            text = lines[0] if lines else "no message"
            return text if len(text) <= 300 else text[:297] + "..."
    return None


def _raise_errors(
    gx_result: Any,
    suite: SuiteSpec,
    name: str,
    location: str,
    engine: str,
    unparsed: dict[str, str],
    types: dict[str, str],
) -> None:
    """Exit 2 naming each expectation GX raised on, its column and GX's message (never a failure with None counts)."""
    lines = []
    for r in gx_result.results:
        message = _exception(r)
        if message is None:
            continue
        col = r.expectation_config.kwargs.get("column")
        hint = ""
        if col in unparsed:
            hint = f" (column {col} is read as text: its value {unparsed[col]!r} is not a {types.get(col, 'value')} as the suite or schema says)"
        lines.append(f"  {r.expectation_config.type}" + (f" [{col}]" if col else "") + f": {message}{hint}")
    if lines:
        raise BadInput(
            f"{suite.path}: {len(lines)} expectation(s) could not be evaluated on {location} (engine {engine}); "
            f"the suite does not fit the data: fix the suite, or set datasets.{name}.schema / na_values in mlgitops.yaml\n"
            + "\n".join(lines)
        )


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

    gx_suite = ctx.suites.add(
        ExpectationSuite(
            name=name,
            expectations=[
                ExpectationConfiguration(
                    type=e["type"], kwargs=e["kwargs"], meta=e["meta"], severity=e["severity"]
                ).to_domain_obj()
                for e in suite.expectations
            ],
        )
    )
    source = (
        ctx.data_sources.add_spark(f"{name}-src") if engine == "spark" else ctx.data_sources.add_pandas(f"{name}-src")
    )
    bd = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=bd, suite=gx_suite))
    actions = [_mlflow_action_class()(name="mlflow")] if _mlflow_active() else []
    cp = ctx.checkpoints.add(
        gx.Checkpoint(
            name=name, validation_definitions=[vd], actions=actions, result_format={"result_format": "SUMMARY"}
        )
    )
    result = cp.run(batch_parameters={"dataframe": batch})
    return next(iter(result.run_results.values()))


def _mlflow_active() -> bool:
    import sys

    mlflow = sys.modules.get("mlflow")
    return mlflow is not None and mlflow.active_run() is not None


def dataset_suite(config: Project, name: str) -> SuiteSpec:
    ds = config.datasets[name]
    if not ds.suite:
        raise BadInput(f"mlgitops.yaml: dataset '{name}' has no suite; add `suite: expectations/{name}.json`")
    return load_suite(Path(config.resolve(ds.suite)))


def validate_dataset(
    ctx: Any, config: Project, name: str, hasher: Executor, suite: SuiteSpec | None = None, verbose: bool = False
) -> DataReport:
    from mlgitops.data import columns as cols

    ds = config.datasets[name]
    suite = suite or dataset_suite(config, name)
    location = _location(config, ds.path)
    tokens, declared = cols.null_tokens(ds.na_values), dict(ds.column_types)
    implied = cols.implied_types(suite.expectations)
    fmt = ds.format
    assert fmt is not None  # the config infers it from the path's suffix
    if ds.engine == "spark":
        from mlgitops.data import spark

        sha = stream_digest(location)  # before Spark starts, so a missing file is named as such
        session = spark.session(*spark.settings(config, ds), verbose=verbose)
        frame, unparsed, rows = spark.read(session, location, fmt, tokens, declared, implied)
        columns = list(frame.columns)
        if rows == 0:
            raise BadInput(f"{location}: dataset is empty (0 rows); provide at least one row")
    else:
        frame, digest = load(location, fmt, hasher, tokens, cols.string_columns(declared, implied))
        columns, rows = [str(c) for c in frame.columns], len(frame)
        unparsed = {}
        if ds.format == "csv":
            unparsed = cols.pandas_apply(frame, cols.resolve(declared, implied, cols.pandas_inferred(frame)))
    _check_columns(suite, columns, location)
    stray = sorted(set(declared) - set(columns))
    if stray:
        raise BadInput(
            f"mlgitops.yaml: datasets.{name}.schema names column(s) {', '.join(stray)} that {location} lacks "
            f"(columns: {', '.join(columns)}); fix the schema"
        )
    gx_result = run_suite(ctx, name, suite, frame, ds.engine)
    if ds.engine != "spark":
        sha = digest.result()  # hashed while GX validated
    _raise_errors(
        gx_result, suite, name, location, ds.engine, unparsed, {**{c: str(t) for c, t in implied.items()}, **declared}
    )
    results = [
        _result(r, str(getattr(r.expectation_config.severity, "value", r.expectation_config.severity)))
        for r in gx_result.results
    ]
    return DataReport(
        dataset=name,
        path=str(ds.path),
        digest=sha,
        rows=rows,
        columns=columns,
        engine=ds.engine,
        success=not any(not r.success and r.severity == "critical" for r in results),
        results=results,
    )


def validate(
    config: Project, dataset_names: list[str] | None = None, docs_dir: Path | None = None, verbose: bool = False
) -> Validation:
    """Run the gate for the named datasets (default: all), write a DataReport into this run's evidence for each.

    `verbose` leaves Spark's own logging on (default: errors only)."""
    from mlgitops.evidence import Run

    run = Run.current(config.root)  # a bad run id is refused before GX starts
    names = list(dataset_names or config.datasets)
    for n in names:
        _dataset(config, n)
    suites = {n: dataset_suite(config, n) for n in names}  # every suite checked before any data is read
    ctx = _context()
    with gx_decimal_scan(), ThreadPoolExecutor(1, thread_name_prefix="mlgitops-sha256") as hasher:
        reports = Validation(validate_dataset(ctx, config, n, hasher, suites[n], verbose) for n in names)
    for rep in reports:
        run.write(rep)
    if docs_dir is not None:
        build_docs(ctx, docs_dir)
    return reports


def build_docs(ctx: Any, docs_dir: Path) -> Path:
    """GX Data Docs HTML for the validations run in this context."""
    docs_dir = Path(docs_dir).resolve()
    ctx.add_data_docs_site(
        "mlgitops",
        {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    ctx.build_data_docs(site_names=["mlgitops"])
    return docs_dir / "index.html"


def _expectations_without_gx(path: Path) -> list[dict[str, Any]]:
    """The suite's expectations for their type hints only (the gate itself checks the suite with GX)."""
    import json

    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    exps = doc.get("expectations") if isinstance(doc, dict) else None
    return [
        {"type": e["type"], "kwargs": e.get("kwargs") or {}}
        for e in exps or []
        if isinstance(e, dict) and isinstance(e.get("type"), str) and isinstance(e.get("kwargs") or {}, dict)
    ]


def load_frame(config: Project, dataset_name: str) -> Any:
    """The dataset as a pandas DataFrame, read exactly as the gate reads it (no GX import)."""
    from mlgitops.data import columns as cols

    ds = _dataset(config, dataset_name)
    tokens, declared = cols.null_tokens(ds.na_values), dict(ds.column_types)
    implied = cols.implied_types(_expectations_without_gx(Path(config.resolve(ds.suite))) if ds.suite else [])
    frame = read_frame(_location(config, ds.path), ds.format, tokens, cols.string_columns(declared, implied))
    if ds.format == "csv":
        cols.pandas_apply(frame, cols.resolve(declared, implied, cols.pandas_inferred(frame)))
    return frame
