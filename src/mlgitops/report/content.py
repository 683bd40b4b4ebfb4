"""The report's content: everything a reviewer needs, read from one evidence run folder into plain JSON data.

`build(run_dir, project_dir)` reads the files; the markdown is rendered from its result alone, so
`report.json` holds exactly what `report.md` shows and renders it again.
Layout read: pipeline.json, data/<ds>.json, training/<m>.json, evaluation/<m>.json (+ .png),
plan/<env>.json (+ <env>.changes.json), findings/<env>.json; budgets and enforcement from the config.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput

FORMAT = 1
ACTIONS = ("create", "update", "replace", "delete")


def _read(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BadInput(f"{path}: invalid JSON ({exc}); re-run the step that writes it") from None


def _names(folder: Path, suffix: str = ".json") -> list[str]:
    return sorted(p.name[: -len(suffix)] for p in folder.glob(f"*{suffix}") if p.name.count(".") == suffix.count(".")) if folder.is_dir() else []


def _ordered(first: list[str], found: list[str]) -> list[str]:
    """Names in config order, then any other ones that left evidence."""
    return [*[n for n in first if n in found], *[n for n in found if n not in first]]


def mlflow_link(training: dict[str, Any]) -> dict[str, Any]:
    """Where the training run lives; a browsable URL when the tracking store is a server."""
    from mlgitops.secrets import mask_uri

    uri, exp, run = mask_uri(training.get("tracking_uri") or ""), training.get("experiment_id"), training.get("run_id")
    url = f"{uri.rstrip('/')}/#/experiments/{exp}/runs/{run}" if uri.startswith(("http://", "https://")) and exp and run else None
    return {"tracking_uri": uri, "experiment_id": exp, "run_id": run, "model_uri": training.get("model_uri"), "url": url}


def _model(run_dir: Path, name: str) -> dict[str, Any]:
    training = _read(run_dir / "training" / f"{name}.json")
    chart = run_dir / "evaluation" / f"{name}.png"
    return {"name": name, "training": training, "evaluation": _read(run_dir / "evaluation" / f"{name}.json"),
            "chart": f"evaluation/{name}.png" if chart.is_file() else None, "mlflow": mlflow_link(training) if training else None}


def base_plan_path(base: Path, env: str) -> Path | None:
    """The base branch's plan of `env`: `<base>/plan/<env>.json` (an evidence run) or `<base>/<env>.json`."""
    for path in (base / "plan" / f"{env}.json", base / f"{env}.json"):
        if path.is_file():
            return path
    return None


def changes_against(plan: Any, base: Path, root: Path) -> dict[str, Any]:
    """The diff of `plan` against the base branch's plan of its stack (every resource is new without one)."""
    from mlgitops.plan import Plan, diff

    against = base_plan_path(base, plan.stack)
    changes = diff(Plan.load(against) if against else Plan(plan.stack, plan.project), plan)
    shown = (against.relative_to(root) if against.is_relative_to(root) else against) if against else None
    return {"env": plan.stack, "against": str(shown) if shown else None, "changes": [c.to_dict() for c in changes]}


def _changes(run_dir: Path, env: str, plan: Any, project_dir: Path | None) -> dict[str, Any] | None:
    """What the pipeline's plan step recorded; else (plans made one by one) the diff against the base branch's plans."""
    from mlgitops import evidence

    doc = _read(run_dir / "plan" / f"{env}.changes.json")
    if doc is None and plan is not None:
        root = Path(project_dir or run_dir).resolve()
        doc = changes_against(plan, evidence.root(root) / evidence.BASE_RUN, root)
    if doc is None:
        return None
    items = doc.get("changes") or []
    return {"against": doc.get("against"), "counts": {a: sum(c["action"] == a for c in items) for a in ACTIONS}, "items": items}


def _environment(run_dir: Path, env: str, settings: dict[str, Any], project_dir: Path | None) -> dict[str, Any]:
    from mlgitops.plan import Plan, render_mermaid

    path = run_dir / "plan" / f"{env}.json"
    plan = Plan.load(path) if path.is_file() else None
    return {
        "env": env, **settings,
        "plan": {"resources": len(plan.resources), "notes": plan.notes} if plan else None,
        "changes": _changes(run_dir, env, plan, project_dir),
        "mermaid": render_mermaid(plan) if plan and plan.resources else None,
        "findings": _read(run_dir / "findings" / f"{env}.json"),
    }


def _settings(project_dir: Path | None) -> tuple[str | None, dict[str, dict[str, Any]], list[str], list[str]]:
    """(project, per-env policy settings, model names, dataset names) from the config, when there is one."""
    if project_dir is None or not (Path(project_dir) / "mlgitops.yaml").is_file():
        return None, {}, [], []
    from mlgitops.config import load

    base = load(project_dir)
    settings = {}
    for env in base.env_names:
        p = load(project_dir, env).policies
        settings[env] = {"enforcement": p.enforcement, "budget_usd_month": p.budget_usd_month}
    return base.project, settings, list(base.models), list(base.datasets)


def build(run_dir: Path, project_dir: Path | None = None) -> dict[str, Any]:
    """The report of one evidence run folder, as JSON-ready data."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BadInput(f"{run_dir}: no such evidence folder; run `mlgitops pipeline pr` (or pass --evidence .mlgitops/evidence/<run-id>)")
    project, settings, models, datasets = _settings(project_dir)
    pipeline = _read(run_dir / "pipeline.json") or {}
    trained = sorted({*_names(run_dir / "training"), *_names(run_dir / "evaluation")})
    envs = _ordered(list(settings), sorted({*_names(run_dir / "plan"), *_names(run_dir / "findings")}))
    doc: dict[str, Any] = {
        "format": FORMAT,
        "project": project,
        "run_id": run_dir.name,
        "target_env": pipeline.get("env"),
        "steps": [s for s in pipeline.get("steps") or [] if s["name"] != "report"],  # not done while it is written
        "log": "logs/pipeline.log" if (run_dir / "logs" / "pipeline.log").is_file() else None,
        "datasets": [_read(run_dir / "data" / f"{d}.json") for d in _ordered(datasets, _names(run_dir / "data"))],
        "models": [_model(run_dir, m) for m in _ordered(models, trained) or models],
        "environments": [_environment(run_dir, e, settings.get(e, {"enforcement": None, "budget_usd_month": None}), project_dir) for e in envs],
    }
    if not (doc["datasets"] or trained or envs or doc["steps"]):
        raise BadInput(f"{run_dir}: no evidence in this folder; run `mlgitops pipeline pr` first")
    doc["verdict"] = verdict(doc)
    return json.loads(json.dumps(doc, default=str))  # plain JSON types only, exactly what report.json holds


def verdict(doc: dict[str, Any]) -> dict[str, Any]:
    """pass, fail (with every reason) or incomplete (nothing failed, but evidence is missing)."""
    reasons: list[str] = []
    for d in doc["datasets"]:
        if not d.get("success"):
            names = ", ".join(f"{f['expectation']}" + (f" [{f['column']}]" if f.get("column") else "") for f in d.get("failures") or [])
            reasons.append(f"data gate failed on `{d['dataset']}`: {names}")
    for m in doc["models"]:
        ev = m["evaluation"]
        if ev and ev.get("verdict") != "pass":
            why = [r for r in ev.get("reasons") or [] if not r.startswith("note:")]
            reasons.append(f"`{m['name']}` v{ev['candidate']['version']} failed evaluation: " + "; ".join(why))
    for e in doc["environments"]:
        f = e["findings"]
        if f and not f.get("passed", True):
            reasons.append(f"{f['summary']['mandatory']} mandatory policy finding(s) in `{e['env']}`")
    for s in doc["steps"]:
        if s["status"] in ("failed", "error") and s["name"] in ("config", "train", "plan", "report"):
            reasons.append(f"step {s['name']} {s['status']}: {s['summary'].splitlines()[0]}")
    missing = [f"evaluation of `{m['name']}`" for m in doc["models"] if not m["evaluation"]]
    missing += [f"policy check of `{e['env']}`" for e in doc["environments"] if not e["findings"]]
    status = "fail" if reasons else "incomplete" if missing else "pass"
    return {"status": status, "reasons": reasons, "missing": missing}


def default_run(project_dir: Path) -> Path:
    """`$MLGITOPS_RUN_ID`'s run folder, else the newest one (never the base branch's plans)."""
    from mlgitops import evidence

    run = evidence.latest(project_dir)
    if run is None:
        raise BadInput(f"{evidence.root(project_dir)}: no evidence yet; run `mlgitops pipeline pr` first")
    return run
