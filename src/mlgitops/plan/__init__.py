"""Offline plans: run a Pulumi Python program under Pulumi's mock engine and record what it declares.

Pull requests hold no cloud credentials and there is no Pulumi CLI in CI, yet reviewers must see what
would change. The real `pulumi` and `pulumi_aws` SDKs run in a fresh subprocess (so Pulumi's global
runtime state never bleeds between plans, and a looping program is killed at the timeout) with a
monitor that records every registration.

Stable API (other capabilities depend on it):
- `Plan`, `Resource` (records of `mlgitops.evidence`); `Plan.to_json()/from_json()/save()/load()`.
- `plan_project(config, deploy_state=None) -> Plan`: our `mlgitops.infra.program` for `config.env`.
- `plan_configs([(config, deploy_state), ...]) -> list[Plan]`: several in one subprocess.
- `plan_environments(project_dir, envs, deploy_states=None) -> dict[env, Plan]`: several in one subprocess.
- `plan_program(program_dir, stack, config_values=None) -> Plan`: any dir with Pulumi.yaml + __main__.py.
- `diff(old, new) -> list[Change]`, `render_table(plan)`, `render_diff(changes)`, `render_mermaid(plan)`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput
from mlgitops.plan.diff import Change, diff
from mlgitops.plan.model import PLAN_FIX, Plan, Resource
from mlgitops.plan.render import render_diff, render_mermaid, render_table

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.evidence import DeployState

__all__ = [
    "PLAN_FIX",
    "Plan",
    "Resource",
    "Change",
    "diff",
    "plan_project",
    "plan_environments",
    "plan_program",
    "plan_directory",
    "plan_configs",
    "render_table",
    "render_diff",
    "render_mermaid",
    "DEFAULT_TIMEOUT",
]

DEFAULT_TIMEOUT = float(os.environ.get("MLGITOPS_PLAN_TIMEOUT", "60"))


def _project_request(config: Project, deploy_state: DeployState | None) -> dict[str, Any]:
    return {
        "kind": "project",
        "stack": config.env,
        "root": str(config.root),
        "config_data": config.model_dump(mode="json"),
        "deploy_state": None if deploy_state is None else deploy_state.to_dict(),
    }


def plan_project(config: Project, deploy_state: DeployState | None = None, timeout: float | None = None) -> Plan:
    """Plan `mlgitops.infra.program(config, deploy_state)` for `config.env` (the stack name is the env)."""
    return _run([_project_request(config, deploy_state)], timeout, f"environment {config.env}")[0]


def plan_configs(items: list[tuple[Project, DeployState | None]], timeout: float | None = None) -> list[Plan]:
    """Plans of several (config, deploy_state) pairs in one subprocess, each with a fresh Pulumi runtime."""
    what = ", ".join(f"{c.project}/{c.env}" for c, _ in items)
    return _run([_project_request(c, s) for c, s in items], timeout, what)


def plan_environments(
    project_dir: Path | str,
    envs: list[str] | None = None,
    deploy_states: dict[str, DeployState | None] | None = None,
    timeout: float | None = None,
) -> dict[str, Plan]:
    """Plans of several environments of a project in one subprocess (one interpreter start for all).

    `deploy_states` defaults to each environment's `deploy/<env>.yaml` (absent: no endpoints)."""
    from mlgitops.config import load
    from mlgitops.infra.state import deploy_state

    root = Path(project_dir).resolve()
    names = envs or load(root).env_names
    requests = []
    for env in names:
        state = deploy_states.get(env) if deploy_states is not None else deploy_state(root, env)
        requests.append(_project_request(load(root, env), state))
    return dict(zip(names, _run(requests, timeout, f"{root.name} ({', '.join(names)})"), strict=False))


def read_pulumi_project(program_dir: Path) -> tuple[str, str]:
    """(project name, main file) from Pulumi.yaml; BadInput naming the file and the fix otherwise."""
    from mlgitops.config.yamlfile import load_plain

    pulumi_yaml = program_dir / "Pulumi.yaml"
    if not pulumi_yaml.is_file():
        raise BadInput(
            f"{program_dir}: no Pulumi.yaml; a program directory needs Pulumi.yaml (name, runtime: python) and __main__.py"
        )
    meta = load_plain(pulumi_yaml, "fix the YAML (Pulumi reads this file too)") or {}
    if not isinstance(meta, dict) or not meta.get("name"):
        raise BadInput(f"{pulumi_yaml}: missing 'name:' (the Pulumi project name)")
    runtime = meta.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise BadInput(
            f"{pulumi_yaml}: runtime is {runtime_name!r}; only 'runtime: python' programs can be planned offline"
        )
    main = str(meta.get("main") or "__main__.py")
    main_path = program_dir / main
    if main_path.is_dir():
        main_path = main_path / "__main__.py"
    if not main_path.is_file():
        raise BadInput(
            f"{program_dir}: no {main_path.relative_to(program_dir)}; add the program's entry file or set 'main:' in Pulumi.yaml"
        )
    return str(meta["name"]), str(main_path.relative_to(program_dir))


def _check_stack_file(path: Path) -> None:
    """A broken `Pulumi.<stack>.yaml` is bad input named by file and line, not an engine crash."""
    from mlgitops.config.yamlfile import load_plain

    if not path.is_file():
        return
    data = load_plain(path, "fix the YAML (Pulumi reads this file too)") or {}
    if not isinstance(data, dict) or not isinstance(data.get("config", {}) or {}, dict):
        raise BadInput(f"{path}: expected 'config:' to be a mapping of <namespace>:<key>: value")


def plan_program(
    program_dir: Path | str, stack: str, config_values: dict | None = None, timeout: float | None = None
) -> Plan:
    """Plan any Pulumi Python program directory; stack config comes from `Pulumi.<stack>.yaml` plus `config_values`."""
    program_dir = Path(program_dir).resolve()
    project, main = read_pulumi_project(program_dir)
    _check_stack_file(program_dir / f"Pulumi.{stack}.yaml")
    request = {
        "kind": "program",
        "stack": stack,
        "program_dir": str(program_dir),
        "project": project,
        "main": main,
        "config": config_values or {},
    }
    return _run([request], timeout, str(program_dir))[0]


def _run(requests: list[dict[str, Any]], timeout: float | None, what: str) -> list[Plan]:
    """One engine subprocess for all requests; its errors become BadInput (exit 2), never a hang."""
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    with tempfile.TemporaryDirectory(prefix="mlgitops-plan-") as tmp:
        req_path, res_path = Path(tmp) / "request.json", Path(tmp) / "result.json"
        req_path.write_text(json.dumps(requests, default=str), encoding="utf-8")
        env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "mlgitops.plan._engine", str(req_path), str(res_path)],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise BadInput(
                f"plan of {what} did not finish within {timeout:g} s (a program that loops or waits forever?); "
                "fix the program or raise MLGITOPS_PLAN_TIMEOUT"
            ) from None
        if proc.returncode != 0 or not res_path.is_file():
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise BadInput(f"plan of {what} failed (engine exit {proc.returncode}):\n{tail}")
        results = json.loads(res_path.read_text(encoding="utf-8"))
    plans = []
    for req, res in zip(requests, results, strict=False):
        if "error" in res:
            raise BadInput(f"plan of {what}, stack {req['stack']}: the program failed:\n{res['error']}")
        plans.append(Plan.model_validate(res))
    return plans


def plan_directory(
    project_dir: Path, env: str, program: Path | None = None, out: Path | None = None
) -> tuple[Plan, list[Path]]:
    """What `mlgitops plan` does: plan the project's stack for `env` (deploy state from `deploy/<env>.yaml`)
    or, with `program`, any program dir for stack `env`; save to the evidence run dir (project plans) and `out`."""
    written: list[Path] = []
    if program is not None:
        plan = plan_program(program, env)
    else:
        from mlgitops.config import load
        from mlgitops.evidence import Run
        from mlgitops.infra.state import deploy_state

        config = load(project_dir, env)
        run = Run.current(project_dir)
        plan = plan_project(config, deploy_state(project_dir, env))
        written.append(run.write(plan))
    if out is not None:
        written.append(plan.save(out))
    return plan, written
