"""`mlgitops retrain`: the commit a retraining pull request carries, made from a drifted `mlgitops monitor --json`
result. It applies `monitoring.retrain` (the dataset's new path) to mlgitops.yaml on the branch
`mlgitops/retrain-<model>`, reset to the current commit each time, so re-runs of the monitor workflow update one pull
request instead of stacking commits. The pull request's own pr.yml run then retrains and compares with the champion.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.errors import BadInput

if TYPE_CHECKING:
    from mlgitops.evidence import MonitorReport

CONFIG = "mlgitops.yaml"


@dataclass(frozen=True)
class Retraining:
    """What `retrain` did: `commit` None when there was nothing to change (no drift, or the path already points there)."""

    model: str
    env: str
    drifted: bool
    branch: str | None = None
    dataset: str | None = None
    path: str | None = None
    commit: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def branch_name(model: str) -> str:
    return f"mlgitops/retrain-{model}"


def read_report(path: Path) -> MonitorReport:
    """The monitor result `mlgitops monitor --json` printed; BadInput naming the file when it is not one."""
    from pydantic import ValidationError

    from mlgitops.evidence import MonitorReport

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file; pass the output of `mlgitops monitor --env ENV --json`") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: not JSON ({exc}); pass the output of `mlgitops monitor --env ENV --json`") from None
    if not isinstance(data, dict) or data.get("kind") != "MonitorReport":
        raise BadInput(
            f"{path}: not a monitor result (no kind: MonitorReport); pass the output of `mlgitops monitor --env ENV --json`"
        )
    for computed in ("drifted", "schema_failures"):  # derived again from the rest
        data.pop(computed, None)
    try:
        return MonitorReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInput(
            f"{path}: {where}: {first['msg']}; pass the output of `mlgitops monitor --env ENV --json` unchanged"
        ) from None


def path_span(text: str, dataset: str) -> tuple[int, int]:
    """The character span of `datasets.<dataset>.path`'s value in the config text (comments and layout around it stay)."""
    import yaml

    def value(node: yaml.Node | None, key: str) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    return v
        return None

    node = value(value(value(yaml.compose(text), "datasets"), dataset), "path")
    if not isinstance(node, yaml.ScalarNode):
        raise BadInput(
            f"{CONFIG}: datasets.{dataset}.path is not written in the base config; monitoring.retrain can only "
            "change a dataset path set there"
        )
    return node.start_mark.index, node.end_mark.index


def retrain(root: Path, report_path: Path, model: str, today: dt.date | None = None) -> Retraining:
    """Apply `monitoring.retrain` on the branch `mlgitops/retrain-<model>` and commit, when `report_path` says the
    model drifted. The worktree is left on that branch (the workflow pushes it)."""
    from mlgitops import git
    from mlgitops.config import load
    from mlgitops.gitops.core import require_git

    report = read_report(report_path)
    if report.model != model:
        raise BadInput(f"{report_path}: a monitor result of '{report.model}', not of --model {model}")
    config = load(root, report.env)
    if not report.drifted:
        return Retraining(
            model, report.env, drifted=False, note=f"no drift of {model} in {report.env}: nothing to retrain"
        )
    plan = config.monitoring.retrain
    if plan is None:
        raise BadInput(
            f"{CONFIG}: {model} drifted in {report.env} but monitoring.retrain is not set; add e.g. "
            "`monitoring: {retrain: {dataset: train, path: data/train-{date}.csv}}` to say what a retraining changes"
        )
    require_git(root)
    if git.output(root, "status", "--porcelain", "--untracked-files=no"):
        raise BadInput(f"{root}: uncommitted changes to tracked files; commit or stash them before `mlgitops retrain`")
    day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    new_path = plan.path.format(date=day)
    branch = branch_name(model)
    _git(root, "switch", "--force-create", branch)  # from the current commit: one fresh commit per run, force-pushed
    file = root / CONFIG
    text = file.read_text(encoding="utf-8")
    start, end = path_span(text, plan.dataset)
    old = text[start:end]
    if config.datasets[plan.dataset].path == new_path:
        return Retraining(
            model,
            report.env,
            True,
            branch,
            plan.dataset,
            new_path,
            note=f"datasets.{plan.dataset}.path already is {new_path}: nothing to commit",
        )
    file.write_text(text[:start] + json.dumps(new_path) + text[end:], encoding="utf-8")
    try:
        load(root, report.env)  # the edited config still validates
    except BadInput:
        file.write_text(text, encoding="utf-8")  # no half-made change left behind
        raise
    reasons = "\n".join(f"- {r}" for r in report.reasons)
    message = (
        f"retrain: {model} on datasets.{plan.dataset} {new_path}\n\n"
        f"`mlgitops monitor` found drift of {model} ({report.digest[:19]}) in {report.env} between {report.since} "
        f"and {report.until}:\n{reasons}\n\nThe dataset was {old}; its pull request's pipeline run retrains on the new "
        f"data and compares the candidate with the champion.\n"
    )
    _git(root, "add", CONFIG)
    _git(root, "commit", "--quiet", "-m", message)
    return Retraining(model, report.env, True, branch, plan.dataset, new_path, git.line(root, "rev-parse", "HEAD"))


def _git(root: Path, *args: str) -> None:
    from mlgitops import git

    done = git.run(root, *args)
    if done is None or done.returncode != 0:
        raise BadInput(
            f"git {' '.join(args[:2])} failed in {root}: {(done.stderr if done else 'git not found').strip()}"
        )


def render_text(result: Retraining) -> str:
    if result.commit is None:
        return result.note + "\n"
    return f"{result.branch}: {result.commit[:12]} points datasets.{result.dataset}.path to {result.path} (drift in {result.env})\n"
