"""`mlgitops train --in-container`: the training image's side of a remote job.

SageMaker starts the image as `docker run <image> train` with the training layout under `/opt/ml`:
`input/data/<channel>/` (one channel per dataset), `input/config/hyperparameters.json`, `model/` (tarred to the job's
`model.tar.gz` when the container exits 0) and `output/failure` (the job's FailureReason). The sagemaker-training-toolkit
exports the same places as `SM_CHANNEL_<NAME>`, `SM_MODEL_DIR`, `SM_OUTPUT_DATA_DIR` and `SM_INPUT_CONFIG_DIR`; those win
when set. AWS Batch has no channels: the submitter passes S3 URIs (`MLGITOPS_CHANNELS`, `MLGITOPS_OUTPUT`) and this
module lays out the same folders itself, then uploads the package. Either way the user's entry point runs exactly as
in local training (`runner.fit`) and an MLflow model is saved; the MLflow run is opened by the submitter, not here.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput

if TYPE_CHECKING:
    from mlgitops.config import Project

OPT_ML = Path("/opt/ml")
MODEL_ENV = "MLGITOPS_MODEL"  # which model of the project this job trains
CHANNELS_ENV = "MLGITOPS_CHANNELS"  # batch: {"<dataset>": "s3://…/<file>"}
OUTPUT_ENV = "MLGITOPS_OUTPUT"  # batch: s3:// prefix the package goes under
KMS_ENV = "MLGITOPS_KMS_KEY"  # batch: the key the package is encrypted with
HYPERPARAMETERS_ENV = "MLGITOPS_HYPERPARAMETERS"  # batch: the job's params, as SageMaker would pass them


@dataclass(frozen=True)
class Layout:
    """Where the job's inputs and outputs are, SageMaker's way."""

    model_dir: Path
    output_dir: Path
    config_dir: Path
    data_dir: Path

    @classmethod
    def from_env(cls, base: Path = OPT_ML) -> Layout:
        env = os.environ.get
        return cls(
            model_dir=Path(env("SM_MODEL_DIR", base / "model")),
            output_dir=Path(env("SM_OUTPUT_DATA_DIR", base / "output" / "data")),
            config_dir=Path(env("SM_INPUT_CONFIG_DIR", base / "input" / "config")),
            data_dir=base / "input" / "data",
        )

    def channel(self, name: str) -> Path:
        return Path(os.environ.get(f"SM_CHANNEL_{name.upper()}", self.data_dir / name))

    @property
    def failure(self) -> Path:
        """SageMaker reports this file's text as the job's FailureReason."""
        return self.output_dir.parent / "failure"


def hyperparameters(layout: Layout) -> dict[str, Any] | None:
    """The job's params: SageMaker passes every value as a string, so the submitter JSON-encodes each one."""
    text = os.environ.get(HYPERPARAMETERS_ENV)
    path = layout.config_dir / "hyperparameters.json"
    if text is None and path.is_file():
        text = path.read_text()
    if text is None:
        return None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}); the job's hyperparameters are a JSON object"
        ) from None

    def decode(value: Any) -> Any:
        try:
            return json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            return value  # set by hand in the console: a plain string

    return {k: decode(v) for k, v in raw.items()}


def channel_file(layout: Layout, dataset: str) -> Path:
    """The one file of a dataset's channel."""
    folder = layout.channel(dataset)
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    if len(files) != 1:
        raise BadInput(
            f"channel {dataset} ({folder}) holds {len(files)} files; a job's dataset channel holds exactly its one file"
        )
    return files[0]


def fetch_channels(layout: Layout, region: str) -> None:
    """Batch: download `MLGITOPS_CHANNELS` into the layout SageMaker would have made."""
    from mlgitops.bucket import download

    for name, uri in json.loads(os.environ[CHANNELS_ENV]).items():
        download(uri, layout.channel(name) / uri.rsplit("/", 1)[-1], region)


def run(config: Project, model: str | None, base: Path = OPT_ML) -> Path:
    """Fit `model` on the channels' data and save it as an MLflow model in the model directory; returns that
    directory. A failure is also written where SageMaker reads the job's failure reason."""
    from mlgitops.errors import GateFailed

    layout = Layout.from_env(base)
    try:
        return _run(config, model, layout)
    except (BadInput, GateFailed) as exc:  # the job fails with the same one line the CLI prints
        _failure(layout, str(exc))
        raise
    except Exception as exc:
        _failure(layout, f"{type(exc).__name__}: {exc}")
        raise


def _failure(layout: Layout, text: str) -> None:
    layout.failure.parent.mkdir(parents=True, exist_ok=True)
    layout.failure.write_text(text[:1000])


def _run(config: Project, model: str | None, layout: Layout) -> Path:
    from mlgitops.bucket import client
    from mlgitops.data import load_frame
    from mlgitops.package import PACKAGE, build
    from mlgitops.training.runner import TrainContext, fit, load_entry_point

    name = model or os.environ.get(MODEL_ENV) or (next(iter(config.models)) if len(config.models) == 1 else None)
    if name is None:
        raise BadInput(
            f"which model? pass --model or set {MODEL_ENV} (the project declares {', '.join(config.models)})"
        )
    config.select_models(name)
    spec = config.models[name]
    if os.environ.get(CHANNELS_ENV):
        fetch_channels(layout, config.cloud.region)
    copies = {
        d: config.datasets[d].model_copy(update={"path": str(channel_file(layout, d))})  # the job's copy of each
        for d in (spec.dataset, spec.holdout)
        if d is not None
    }
    config = config.model_copy(update={"datasets": {**config.datasets, **copies}})
    params = hyperparameters(layout)
    frame = load_frame(config, spec.dataset)
    if spec.target not in frame.columns:
        raise BadInput(
            f"mlgitops.yaml: models.{name}.target '{spec.target}' is not a column of dataset '{spec.dataset}'"
        )
    layout.model_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mlgitops-train-"))
    ctx = TrainContext(
        data=frame,
        target=spec.target,
        params=spec.params if params is None else params,
        output_dir=work,
        model_name=name,
        config=config,
    )
    fitted = fit(
        load_entry_point(Path(config.root), spec.entry_point, name), ctx, spec.entry_point, lambda: "nothing saved"
    )
    saved = work / "model"  # saved aside, then moved: SageMaker's model dir may exist already (it is a mount)
    fitted.flavor.save_model(fitted.result.model, path=str(saved), **fitted.kwargs)
    for item in saved.iterdir():
        shutil.move(item, layout.model_dir / item.name)
    output = os.environ.get(OUTPUT_ENV)
    if output:  # batch: upload the package where the submitter waits for it
        package = work / PACKAGE
        build(layout.model_dir, package)
        bucket, _, prefix = output.removeprefix("s3://").partition("/")
        extra = {
            "ServerSideEncryption": "aws:kms",
            **({"SSEKMSKeyId": os.environ[KMS_ENV]} if os.environ.get(KMS_ENV) else {}),
        }
        client(config.cloud.region).upload_file(
            str(package), bucket, f"{prefix.rstrip('/')}/{PACKAGE}".lstrip("/"), ExtraArgs=extra
        )
    return layout.model_dir
