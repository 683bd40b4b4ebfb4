"""MLflow-tracked training around the user's entry point (`models.<name>.entry_point`).

The user writes `def train(ctx: TrainContext) -> estimator`; mlgitops owns the MLflow run, lineage,
model logging and registration, so every model in every project is tracked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput
from mlgitops.evidence import TrainingBackend
from mlgitops.training.runner import TrainContext, TrainingResult, TrainResult, prepare, train, train_all

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.training.remote import Submitted

__all__ = [
    "TrainContext",
    "TrainResult",
    "Training",
    "TrainingResult",
    "prepare",
    "render_text",
    "run_training",
    "train",
    "train_all",
]


@dataclass(frozen=True)
class Training:
    """What `mlgitops train` did: models trained and registered, remote jobs submitted and not waited for, or (inside
    the training image) the model directory saved."""

    env: str
    backend: TrainingBackend
    trained: list[TrainingResult] = field(default_factory=list)
    submitted: list[Submitted] = field(default_factory=list)
    model_dir: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.model_dir is not None:
            return {"model_dir": str(self.model_dir)}
        if self.submitted:
            return {"training": [job.to_dict() for job in self.submitted]}
        return {"training": [r.record.to_dict() for r in self.trained]}


def run_training(
    config: Project,
    model: str | None = None,
    backend: TrainingBackend = TrainingBackend.LOCAL,
    wait: bool = True,
    attach: str | None = None,
    in_container: bool = False,
) -> Training:
    """Train here, or on the environment's stack: submit a job per model (or `attach` to a running one), follow it
    and register its model; with `wait=False` only submit. `in_container`: the training image's side of a job."""
    if in_container:
        from mlgitops.training import container

        return Training(config.env, backend, model_dir=container.run(config, model))
    if backend == TrainingBackend.LOCAL:
        return Training(config.env, backend, trained=train_all(config, model))
    from mlgitops.training.remote import attach as attach_job
    from mlgitops.training.remote import submit

    models = config.select_models(model)
    if attach and len(models) != 1:
        raise BadInput(f"--attach {attach}: name the job's model with --model ({', '.join(models)})")
    if attach:
        names = {models[0]: attach}
    else:
        submitted = [submit(config, m, backend) for m in models]
        if not wait:
            return Training(config.env, backend, submitted=submitted)
        names = {job.model: job.name for job in submitted}
    return Training(config.env, backend, trained=[attach_job(config, m, backend, name) for m, name in names.items()])


def render_text(result: Training) -> str:
    """A line per model trained (with its run, registered model and evidence) or per job submitted (with the
    command that attaches to it later)."""
    if result.model_dir is not None:
        return f"saved the model into {result.model_dir}\n"
    if result.submitted:
        return "".join(
            f"submitted {job.model}: {job.name}; later: mlgitops train --env {result.env} --backend {result.backend.value} "
            f"--model {job.model} --attach {job.name}\n"
            for job in result.submitted
        )
    lines = []
    for r in result.trained:
        where = f" by {r.record.backend.value} job {r.record.training_job_name}" if r.record.training_job_name else ""
        lines.append(
            f"trained {r.model}{where}: run {r.run_id}, registered {r.record.model_uri}; evidence {r.evidence_path}\n"
        )
    return "".join(lines)
