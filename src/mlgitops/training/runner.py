"""The training runner: import the entry point, call it, track the run in MLflow, register the model.

Flavors: an entry point returns a fitted scikit-learn estimator, or `TrainResult(model, flavor=...)`
where `flavor` is "sklearn" or any MLflow flavor module (e.g. `mlflow.xgboost`) whose `log_model`
takes `name=`; `log_kwargs` go to that `log_model` call.

Concurrency: a local SQLite tracking store is used under a file lock (`<db>.lock`), so two pipelines
on one machine serialize instead of corrupting it. With a tracking server no lock is taken.

Lineage: the dataset digest comes from the data gate's evidence (`data/<dataset>.json`) when the gate
ran in this pipeline run; otherwise it is the sha256 of the file bytes, so training works without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.confine import project_relative
from mlgitops.data import load_frame
from mlgitops.data.readers import stream_digest
from mlgitops.errors import BadInput, GateFailed
from mlgitops.evidence import DataReport, GitInfo, Run, TrainingRecord
from mlgitops.package import PACKAGE, build
from mlgitops.registry import DIGEST_TAG, local_copy
from mlgitops.secrets import mask_secrets, mask_uri
from mlgitops.speed import import_mlflow
from mlgitops.tracking import ensure_experiment, store_lock

if TYPE_CHECKING:
    from mlgitops.config import Project


@dataclass
class TrainContext:
    """What the entry point gets: the training frame (target column included) and its settings."""

    data: Any  # pandas.DataFrame
    target: str
    params: dict[str, Any]
    output_dir: Path
    model_name: str
    config: Project

    @property
    def features(self) -> Any:
        return self.data.drop(columns=[self.target])

    @property
    def labels(self) -> Any:
        return self.data[self.target]


@dataclass
class TrainResult:
    """Hook for non-sklearn models: `flavor` is "sklearn", a flavor name, or an `mlflow.<flavor>` module."""

    model: Any
    flavor: Any = "sklearn"
    pip_requirements: list[str] | None = None
    log_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingResult:
    record: TrainingRecord
    evidence_path: Path

    @property
    def model(self) -> str:
        return self.record.model

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def version(self) -> str:
        return self.record.version


def dataset_digest(config: Project, dataset: str) -> str:
    """The DataReport digest from this run's evidence, else sha256 of the local file."""
    report = Run.current(config.root).data(dataset)
    if report is not None:
        return report.digest
    path = config.resolve(config.datasets[dataset].path)
    if isinstance(path, Path):
        return f"sha256:{stream_digest(path)}"  # same form as the data gate's DataReport digest
    return f"sha256:{hashlib.sha256(str(path).encode()).hexdigest()}"  # remote URI without a data report: name only


def load_entry_point(root: Path, entry_point: str, model: str) -> Any:
    """Import `module:function` from `<project>/src`, fresh each time (tests train several projects)."""
    module_name, func_name = entry_point.split(":")
    src = str(root / "src")
    top = module_name.split(".")[0]
    for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if file and not file.startswith((sys.prefix, sys.base_prefix)):
            del sys.modules[name]  # a previous project's copy of the user's package (never installed ones)
    sys.path.insert(0, src)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            raise BadInput(
                f"mlgitops.yaml: models.{model}.entry_point '{entry_point}': module '{module_name}' not found under {src}; create it or fix the entry point"
            ) from None
        user_traceback(exc)  # the user's code imports something that is not installed
        raise GateFailed(
            f"training '{model}': importing {entry_point} failed: {exception_line(exc)} (traceback above); install it or fix the import"
        ) from None
    except (Exception, SystemExit) as exc:  # SyntaxError, ImportError, anything raised at import: the user's code
        user_traceback(exc)
        raise GateFailed(
            f"training '{model}': importing {entry_point} failed: {exception_line(exc)} (traceback above); fix the module"
        ) from None
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(src)
    func = getattr(module, func_name, None)
    if not callable(func):
        raise BadInput(
            f"mlgitops.yaml: models.{model}.entry_point '{entry_point}': {module_name} has no function '{func_name}'; define it or fix the entry point"
        )
    return func


def exception_line(exc: BaseException) -> str:
    """`Type: first line of the message`: what a failure says on the console and in the report (the traceback goes to the log)."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def user_traceback(exc: BaseException) -> None:
    """Print the traceback from the first frame outside mlgitops and importlib: the user's code, not ours."""
    tb = exc.__traceback__
    while tb is not None and (
        tb.tb_frame.f_globals.get("__name__", "").startswith(("mlgitops.", "importlib"))
        or "<frozen" in tb.tb_frame.f_code.co_filename
    ):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb, file=sys.stderr)


def pinned_requirements(flavor_pkg: str | None = "scikit-learn") -> list[str]:
    """Exact versions of what serving needs, passed to log_model so it skips inference (fast)."""
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    extra = ("skops",) if flavor_pkg == "scikit-learn" else ()
    for pkg in ("mlflow", flavor_pkg, *extra, "pandas", "numpy", "scipy", "cloudpickle"):
        if not pkg:
            continue
        try:
            reqs.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            continue
    return reqs


def trusted_types(estimator: Any) -> list[str]:
    """Types skops would refuse to load: we trained this estimator in this process, so we trust them."""
    import skops.io

    return list(skops.io.get_untrusted_types(data=skops.io.dumps(estimator)))


def _flavor_module(flavor: Any) -> Any:
    if isinstance(flavor, str):
        return importlib.import_module(f"mlflow.{flavor}")
    return flavor


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@contextlib.contextmanager
def _project_env(name: str, value: str) -> Iterator[None]:
    """Point the run-context plugin at the project (not the cwd) for this run only."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _short(digest: str) -> str:
    """MLflow stores at most 36 characters of a dataset digest; the full one is logged as a param."""
    return digest.split(":")[-1][:36]


def prepare(config: Project) -> None:
    """Import MLflow and its sklearn flavor and open (or create) the tracking store: `train` then starts
    at the model. The pipeline calls it while the data gate runs in another process."""
    import_mlflow()
    import mlflow.sklearn

    tracking_uri = config.tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    with store_lock(tracking_uri):
        ensure_experiment(config)
    with contextlib.suppress(Exception):  # MLflow's map of installed packages, built at the first log_model (0.4 s)
        from mlflow.utils.requirements_utils import _init_packages_to_modules_map

        _init_packages_to_modules_map()


@dataclass
class Fitted:
    """What the entry point returned, ready for the flavor's log_model or save_model."""

    result: TrainResult
    flavor: Any  # the mlflow.<flavor> module
    kwargs: dict[str, Any]


def fit(func: Any, ctx: TrainContext, entry_point: str, failed: Any) -> Fitted:
    """Call the user's entry point and prepare what saving the model needs. On any failure of the user's code,
    `failed()` cleans up and says what became of the run, and GateFailed carries it (exit 1)."""
    from mlflow.models import infer_signature

    model = ctx.model_name
    try:
        returned = func(ctx)
    except SystemExit as exc:  # sys.exit() in the entry point must not become the CLI's exit code
        raise GateFailed(
            f"training '{model}': {entry_point} called sys.exit({exc.code!r}) instead of returning the fitted model; "
            f"{failed()}"
        ) from None
    except Exception as exc:  # user code: show their traceback, fail the run, register nothing
        user_traceback(exc)
        raise GateFailed(
            f"training '{model}' failed in {entry_point}: {exception_line(exc)} (traceback above); {failed()}"
        ) from None
    result = returned if isinstance(returned, TrainResult) else TrainResult(model=returned)
    if result.model is None:
        raise GateFailed(f"training '{model}': {entry_point} returned None; return the fitted model. {failed()}")
    example = ctx.features.head(5)
    try:
        signature = result.log_kwargs.get("signature") or infer_signature(example, result.model.predict(example))
    except Exception as exc:
        user_traceback(exc)
        raise GateFailed(
            f"training '{model}': the returned model cannot predict on the training features: {exception_line(exc)} "
            f"(traceback above); {failed()}"
        ) from None
    flavor = _flavor_module(result.flavor)
    pkg = "scikit-learn" if flavor.__name__ == "mlflow.sklearn" else None
    kwargs = {
        "signature": signature,
        "input_example": example,
        "pip_requirements": result.pip_requirements or pinned_requirements(pkg),
        **result.log_kwargs,
    }
    if pkg and "skops_trusted_types" not in kwargs:
        kwargs["skops_trusted_types"] = trusted_types(result.model)
    return Fitted(result, flavor, kwargs)


@dataclass
class Logged:
    """The model a run produced: its MLflow 3 logged model, registered version, and what else the record says."""

    model_id: str
    version: str
    has_signature: bool
    extra: dict[str, Any] = field(default_factory=dict)


def train(config: Project, model: str) -> TrainingResult:
    """Train one model here: one MLflow run, one new registered version, one evidence file."""
    config.select_models(model)  # an unknown model is bad input before anything is imported
    spec = config.models[model]
    func = load_entry_point(Path(config.root), spec.entry_point, model)

    def fit_and_log(ctx: TrainContext, failed: Any) -> Logged:
        mlflow = import_mlflow()
        fitted = fit(func, ctx, spec.entry_point, failed)
        try:
            info = fitted.flavor.log_model(
                fitted.result.model, name="model", registered_model_name=config.registry_name(model), **fitted.kwargs
            )
        except (
            Exception
        ) as exc:  # e.g. a model that predicts but cannot be serialized: the user's object, not an MLflow bug
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise GateFailed(
                f"training '{model}': the model {spec.entry_point} returned cannot be saved with {fitted.flavor.__name__}: {reason}; "
                f"return a serializable model (or TrainResult with another flavor). {failed()}"
            ) from None
        mlflow.set_tag("mlgitops.registered_version", str(info.registered_model_version))
        return Logged(info.model_id, str(info.registered_model_version), fitted.kwargs.get("signature") is not None)

    return tracked(config, model, fit_and_log)


def tracked(config: Project, model: str, produce: Any) -> TrainingResult:
    """The MLflow run around whatever produces the model (`produce(ctx, failed) -> Logged`: fitting here, or a remote
    job's output), with the same lineage, package and evidence whichever it is."""
    mlflow = import_mlflow()

    from mlgitops.training.gitinfo import PROJECT_ENV, git_info

    config.select_models(model)
    spec = config.models[model]
    root = Path(config.root)
    frame = load_frame(config, spec.dataset)
    if spec.target not in frame.columns:
        raise BadInput(
            f"mlgitops.yaml: models.{model}.target '{spec.target}' is not a column of dataset '{spec.dataset}' (columns: {', '.join(map(str, frame.columns))})"
        )
    digests = {"train": dataset_digest(config, spec.dataset)}
    if spec.holdout:
        digests["holdout"] = dataset_digest(config, spec.holdout)
    registry_name = config.registry_name(model)
    tracking_uri = config.tracking_uri()
    run_evidence = Run.current(root)
    out_dir = run_evidence.training_dir(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    git = git_info(str(root.resolve()))
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)

    with store_lock(tracking_uri), _project_env(PROJECT_ENV, str(root)):
        experiment_id = ensure_experiment(config)
        with mlflow.start_run(
            experiment_id=experiment_id,
            run_name=f"train {model}",
            tags={"mlgitops.model": model, "mlgitops.env": config.env},
        ) as run:
            run_id = run.info.run_id
            mlflow.log_params(mask_secrets(_flatten(spec.params)))
            mlflow.log_params({"mlgitops.dataset": spec.dataset, "mlgitops.target": spec.target})
            source = mask_uri(str(config.resolve(config.datasets[spec.dataset].path)))
            mlflow.log_input(
                mlflow.data.from_pandas(
                    frame, source=source, targets=spec.target, name=spec.dataset, digest=_short(digests["train"])
                ),
                context="training",
            )
            mlflow.log_params({f"mlgitops.digest.{k}": v for k, v in digests.items()})
            report = run_evidence.path(DataReport, spec.dataset)
            if report.is_file():
                mlflow.log_artifact(str(report), artifact_path="evidence")
            ctx = TrainContext(
                data=frame,
                target=spec.target,
                params=dict(spec.params),
                output_dir=out_dir,
                model_name=model,
                config=config,
            )

            def failed() -> str:
                mlflow.end_run(status="FAILED")
                return f"MLflow run {run_id} marked FAILED, nothing registered"

            logged = produce(ctx, failed)
        artifact_uri = mlflow.get_logged_model(logged.model_id).artifact_location  # the model's files (MLflow 3)
        package = out_dir / PACKAGE  # the model's identity and the file promotion ships (gitops.package)
        digest = build(local_copy(artifact_uri), package)
        mlflow.MlflowClient().set_model_version_tag(registry_name, logged.version, DIGEST_TAG, digest)

    record = TrainingRecord(
        model=model,
        run_id=run_id,
        experiment_id=experiment_id,
        registry_name=registry_name,
        version=logged.version,
        model_uri=f"models:/{registry_name}/{logged.version}",
        artifact_uri=project_relative(artifact_uri, root),
        logged_model_id=logged.model_id,
        digest=digest,
        package=package.relative_to(run_evidence.dir).as_posix(),
        dataset_digests=digests,
        git=GitInfo.model_validate(git),
        has_signature=logged.has_signature,
        tracking_uri=mask_uri(
            config.tracking.uri
        ),  # as configured (project-relative), never a password or a machine path
        params=spec.params,
        **logged.extra,
    )
    return TrainingResult(record=record, evidence_path=run_evidence.write(record))


def train_all(config: Project, model: str | None = None) -> list[TrainingResult]:
    """Train the named model, or every model in config order."""
    return [train(config, name) for name in config.select_models(model)]
