"""The evidence folder of one pipeline run, `.mlgitops/evidence/<run-id>/`, and the only code that knows its layout.

Every gate writes its record here through `Run.write`; the report, the policies and promotion read them
back through `Run.read` (or a named shortcut such as `run.evaluation(model)`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TypeVar

from mlgitops.evidence import store
from mlgitops.evidence.records import (
    DataReport,
    Evaluation,
    Findings,
    MonitorReport,
    PipelineRun,
    Plan,
    PlanChanges,
    Record,
    Report,
    TrainingRecord,
)

RUN_ID_ENV = "MLGITOPS_RUN_ID"
BASE_RUN = "base"  # the base branch's plans (plan/<env>.json), written there by the PR workflow
R = TypeVar("R", bound=Record)

LAYOUT: dict[type[Record], tuple[str, str | None]] = {  # where each kind lives, and the field that names the file
    DataReport: ("data/{}.json", "dataset"),
    TrainingRecord: ("training/{}.json", "model"),
    Evaluation: ("evaluation/{}.json", "model"),
    Plan: ("plan/{}.json", "stack"),
    PlanChanges: ("plan/{}.changes.json", "env"),
    Findings: ("findings/{}.json", "env"),
    PipelineRun: ("pipeline.json", None),
    Report: ("report.json", None),
    MonitorReport: ("monitor/{}.json", "model"),
}


def root(project_dir: Path) -> Path:
    return Path(project_dir) / ".mlgitops" / "evidence"


def run_id(value: str | None = None) -> str:
    """`value`, else `$MLGITOPS_RUN_ID`, else `local`: one folder name, never a path out of the evidence root."""
    from mlgitops.confine import run_id as checked

    return checked(value or os.environ.get(RUN_ID_ENV) or "local", "run id" if value else RUN_ID_ENV)


class Run:
    """One run folder: where each kind of record lives, and reading and writing them."""

    def __init__(self, folder: Path) -> None:
        self.dir = Path(folder)

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r})"

    @property
    def name(self) -> str:
        return self.dir.name

    @classmethod
    def current(cls, project_dir: Path, rid: str | None = None) -> Run:
        """This run: `$MLGITOPS_RUN_ID`'s folder, else `local`."""
        return cls(root(project_dir) / run_id(rid))

    @classmethod
    def base(cls, project_dir: Path) -> Run:
        return cls(root(project_dir) / BASE_RUN)

    @classmethod
    def latest(cls, project_dir: Path) -> Run | None:
        """`$MLGITOPS_RUN_ID`'s run, else the most recently written one (never the base branch's plans)."""
        if os.environ.get(RUN_ID_ENV):
            return cls.current(project_dir)
        runs = [p for p in root(project_dir).glob("*") if p.is_dir() and p.name != BASE_RUN]
        newest = max(runs, key=lambda p: p.stat().st_mtime, default=None)
        return None if newest is None else cls(newest)

    def reset(self) -> None:
        """A run's evidence is one consistent set: a new pipeline run starts from an empty folder."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, kind: type[Record], name: str = "") -> Path:
        return self.dir / LAYOUT[kind][0].format(name)

    def write(self, record: Record) -> Path:
        field = LAYOUT[type(record)][1]
        return store.write(self.path(type(record), getattr(record, field) if field else ""), record)

    def read(self, kind: type[R], name: str = "") -> R | None:
        """The record, None when the step that writes it has not run; BadInput when the file is not that record."""
        return store.load_optional(self.path(kind, name), kind)

    def names(self, kind: type[Record]) -> list[str]:
        """The names (datasets, models, environments) that have a record of `kind` in this run."""
        folder, _, leaf = LAYOUT[kind][0].rpartition("/")
        prefix, suffix = leaf.split("{}")
        found = (p.name[len(prefix) : -len(suffix)] for p in (self.dir / folder).glob(f"{prefix}*{suffix}"))
        return sorted(
            n for n in found if "." not in n
        )  # names are slugs: `x.changes.json` is not a plan of `x.changes`

    # Shortcuts for the records read by name.
    def data(self, dataset: str) -> DataReport | None:
        return self.read(DataReport, dataset)

    def training(self, model: str) -> TrainingRecord | None:
        return self.read(TrainingRecord, model)

    def evaluation(self, model: str) -> Evaluation | None:
        return self.read(Evaluation, model)

    def plan(self, env: str) -> Plan | None:
        return self.read(Plan, env)

    def changes(self, env: str) -> PlanChanges | None:
        return self.read(PlanChanges, env)

    def findings(self, env: str) -> Findings | None:
        return self.read(Findings, env)

    def pipeline(self) -> PipelineRun | None:
        return self.read(PipelineRun)

    def monitor(self, model: str) -> MonitorReport | None:
        return self.read(MonitorReport, model)

    # Files that are not records.
    def chart(self, model: str) -> Path:
        return self.dir / "evaluation" / f"{model}.png"

    def training_dir(self, model: str) -> Path:
        """Scratch space for the entry point's own files (`TrainContext.output_dir`)."""
        return self.dir / "training" / model

    def monitor_plot(self, model: str, feature: str) -> Path:
        """A drifted feature's reference-vs-live distribution (`mlgitops monitor`)."""
        import re

        return self.dir / "monitor" / model / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', feature)}.png"

    @property
    def log(self) -> Path:
        return self.dir / "logs" / "pipeline.log"

    @property
    def report_md(self) -> Path:
        return self.dir / "report.md"
