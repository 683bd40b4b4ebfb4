"""The project template: every prompt combination renders a complete project whose gates pass, through
cookiecutter's API (`mlgitops new`) and its CLI; the hooks reject answers that could not work."""

from __future__ import annotations

import filecmp
import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from mlgitops.errors import BadInput
from mlgitops.scaffold import TEMPLATE_DIR, new

SUITE = TEMPLATE_DIR.parents[1]
COMBINATIONS = list(
    itertools.product(["binary_classification", "regression"], ["staging,prod", "prod", "dev,staging,prod"])
)
SAMPLES = {"binary_classification": "breast_cancer", "regression": "diabetes"}
MODELS = {"binary_classification": "classifier", "regression": "regressor"}
ANSWERS = {"owner": "data-science@acme.io", "aws_region": "us-west-2", "github_org": "acme-ml"}  # not the defaults
UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|\{#")  # GitHub expressions `${{ }}` are meant to stay
PLACEHOLDERS = re.compile(
    r"TODO|FIXME|CHANGEME|XXX|TBD|lorem ipsum|example\.(com|org)|example-org|<your|replace me", re.IGNORECASE
)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """cookiecutter writes a replay file under ~; keep it out of the real home."""
    path = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(path))
        yield path


@pytest.fixture(scope="module")
def projects(tmp_path_factory, home):
    """(problem_type, environments) -> the project rendered with `mlgitops.scaffold.new`."""
    base = tmp_path_factory.mktemp("rendered")
    return {
        (problem, envs): new(base / f"{i}" / "acme-risk", {**ANSWERS, "problem_type": problem, "environments": envs})
        for i, (problem, envs) in enumerate(COMBINATIONS)
    }


def text_files(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix != ".csv":
            yield path, path.read_text(encoding="utf-8")


@pytest.mark.parametrize("problem,envs", COMBINATIONS)
def test_every_combination_renders_a_complete_valid_project(projects, problem, envs):
    from mlgitops.config import check, load

    root, chosen = projects[problem, envs], envs.split(",")
    assert check(root) == ["local", *chosen]
    config = load(root)
    assert (
        config.project == "acme-risk"
        and config.cloud.region == "us-west-2"
        and config.github.repository == "acme-ml/acme-risk"
    )
    assert (
        list(config.models) == [MODELS[problem]]
        and config.models[MODELS[problem]].entry_point == "acme_risk.train:train"
    )
    for name in (
        "mlgitops.yaml",
        "README.md",
        "Makefile",
        "pyproject.toml",
        ".gitignore",
        "deploy/.gitkeep",
        "src/acme_risk/train.py",
        "infra/Pulumi.yaml",
        "infra/__main__.py",
        f"expectations/{SAMPLES[problem]}.json",
        f"data/{SAMPLES[problem]}/train.csv",
        f"data/{SAMPLES[problem]}/holdout.csv",
    ):
        assert (root / name).is_file(), name
    assert not any((root / "data").glob(f"*{'diabetes' if problem != 'regression' else 'breast_cancer'}*"))
    assert sorted(p.name for p in (root / "infra").glob("Pulumi.*.yaml")) == sorted(f"Pulumi.{e}.yaml" for e in chosen)
    assert (root / "mlgitops.yaml").read_text().splitlines()[
        0
    ] == "# yaml-language-server: $schema=.mlgitops.schema.json"
    assert (root / ".mlgitops.schema.json").read_text() == (SUITE / "docs" / "mlgitops.schema.json").read_text()
    for action in (SUITE / "ci").glob("*/action.yml"):
        assert (root / ".github" / "actions" / action.parent.name / "action.yml").read_text() == action.read_text()
    recorded = json.loads((root / ".cruft.json").read_text())
    assert recorded["directory"] == "templates/project" and Path(recorded["template"]) == SUITE
    assert recorded["context"]["cookiecutter"]["environments"] == envs
    gitignore = (root / ".gitignore").read_text().split()
    assert {".mlgitops/", "mlruns/", "data-docs/", ".venv/"} <= set(gitignore)
    # a generated, fixed bucket suffix: names unique across accounts yet computable offline and within S3's 63
    suffix = config.cloud.name_suffix
    assert re.fullmatch(r"[a-z0-9]{4,8}", suffix) and recorded["context"]["cookiecutter"]["name_suffix"] == suffix
    for env in config.env_names:
        names = [load(root, env).bucket_name(role) for role in ("data", "artifacts", "models", "access-logs")]
        assert all(n.endswith(f"-{suffix}") and len(n) <= 63 for n in names), names


def test_each_new_project_gets_its_own_bucket_suffix(projects):
    from mlgitops.config import load

    suffixes = {load(root).cloud.name_suffix for root in projects.values()}
    assert len(suffixes) == len(projects)  # 26**6 choices: a clash here would mean the suffix is not random


def test_nothing_unrendered_and_no_placeholder_text(projects):
    for root in projects.values():
        for path, text in text_files(root):
            if path.name == ".cruft.json":
                continue  # records the answers, nothing else
            assert not UNRENDERED.search(text), f"{path}: template syntax left: {UNRENDERED.search(text).group()}"
            assert not PLACEHOLDERS.search(text), f"{path}: placeholder text: {PLACEHOLDERS.search(text).group()}"


def test_every_environment_plans_and_passes_its_policies(projects):
    """Each env planned twice in one engine process: as rendered (nothing promoted) and with a model promoted."""
    from mlgitops.config import load
    from mlgitops.plan import plan_configs
    from mlgitops.policies.engine import check

    items = []
    for root in projects.values():
        for env in load(root).env_names:
            config = load(root, env)
            items += [(config, None), (config, promoted(config))]
    plans = plan_configs(items, timeout=300)
    for (config, state), plan in zip(items, plans, strict=False):
        findings = check(config, plan)
        where = (config.root.parent.name, config.env, "promoted" if state else "as rendered")
        assert not findings.blocked, (
            where,
            [f"{f.policy}: {f.message}" for f in findings.findings if f.enforcement == "mandatory"],
        )
        assert bool(plan.by_type("aws:sagemaker/endpoint:Endpoint")) == (bool(state) and config.env != "local"), (
            where
        )  # local is embedded
        if config.env == "prod":
            assert config.policies.enforcement == "mandatory", where
            assert all(
                m.serving.min_instances >= 2 and m.serving.data_capture.enabled for m in config.models.values()
            ), where


def promoted(config):
    """deploy/<env>.yaml as promotion writes it."""
    from mlgitops.evidence import DeployEntry, DeployState

    return DeployState(
        env=config.env,
        models={
            name: DeployEntry(
                version="1",
                registry_name=config.registry_name(name),
                model_uri=f"models:/{config.registry_name(name)}/1",
                artifact_uri=f"s3://{config.bucket_name('models')}/{name}/1/model.tar.gz",
                run_id="0" * 32,
                digest="sha256:" + "0" * 64,
            )
            for name in config.models
        },
    )


def test_cookiecutter_cli_renders_what_mlgitops_new_renders(tmp_path, home):
    cli = Path(sys.executable).with_name("cookiecutter")
    done = subprocess.run(
        [
            str(cli),
            str(SUITE),
            "--directory",
            "templates/project",
            "--no-input",
            "-o",
            str(tmp_path / "cli"),
            "name_suffix=k3x9q2",
        ],  # the one random default, fixed so both renders can be compared
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(home)},
    )
    assert done.returncode == 0, done.stderr
    api = new(tmp_path / "api" / "ml-project", {"project_name": "ML Project", "name_suffix": "k3x9q2"})
    assert_same_tree(filecmp.dircmp(tmp_path / "cli" / "ml-project", api))


def assert_same_tree(cmp: filecmp.dircmp) -> None:
    assert not (cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files), (
        cmp.left,
        cmp.left_only,
        cmp.right_only,
        cmp.diff_files,
    )
    for sub in cmp.subdirs.values():
        assert_same_tree(sub)


@pytest.mark.parametrize(
    "key,value,says",
    [
        ("project_slug", "9lives", "starting with a letter"),
        ("project_slug", "Fraud_Detection", "lowercase letters"),
        ("project_slug", "ends-", "not ending with a hyphen"),
        ("project_slug", "a" * 41, "at most 40"),
        ("project_slug", "json", "would shadow"),
        ("project_name", "two\nlines", "one line"),
        ("owner", "ml-team", "email address"),
        ("aws_region", "Europe (Ireland)", "AWS region"),
        ("github_org", "-acme", "GitHub owner"),
        ("github_repo", "my repo", "GitHub repository"),
        ("name_suffix", "AB_1", "4 to 8 lowercase letters and digits"),
        ("aws_account_id", "1234-5678-9012", "12 digits"),
    ],
)
def test_hooks_reject_bad_answers_and_leave_nothing(tmp_path, home, key, value, says):
    dest = tmp_path / "project"
    with pytest.raises(BadInput) as exc:
        new(dest, {**ANSWERS, key: value})
    assert str(exc.value).startswith(f"{key} ") and says in str(exc.value)
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_hook_rules_match_the_config_schema():
    from mlgitops.config import json_schema
    from mlgitops.config.schema import BUCKET_ROLES, NAME_LIMIT, NAME_SUFFIX, REGION, ROLES, SLUG

    spec = importlib.util.spec_from_file_location("pre_gen_project", TEMPLATE_DIR / "hooks" / "pre_gen_project.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert (hook.SLUG, hook.REGION, hook.NAME_LIMIT, hook.ROLES) == (SLUG, REGION, NAME_LIMIT, ROLES)
    assert (hook.NAME_SUFFIX, hook.BUCKET_ROLES) == (NAME_SUFFIX, BUCKET_ROLES)
    assert hook.ACCOUNT_ID == json_schema()["$defs"]["Cloud"]["properties"]["account_id"]["anyOf"][0]["pattern"]
    assert hook.SLUG_MAX == json_schema()["properties"]["project"]["maxLength"]
    cookiecutter = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
    assert set(hook.MODELS) == set(cookiecutter["problem_type"])


def mlgitops(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(home)},
    )


def test_new_command(tmp_path, home):
    ok = mlgitops(
        "new",
        "fraud-scoring",
        "--no-input",
        "--set",
        "problem_type=regression",
        "--set",
        "environments=prod",
        cwd=tmp_path,
        home=home,
    )
    assert ok.returncode == 0, ok.stderr
    root = tmp_path / "fraud-scoring"
    assert f"created {root}" in ok.stdout
    assert (
        "project: fraud-scoring" in (root / "mlgitops.yaml").read_text()
        and (root / "src" / "fraud_scoring" / "train.py").is_file()
    )
    (tmp_path / "empty").mkdir()
    assert mlgitops("new", "empty", "--no-input", cwd=tmp_path, home=home).returncode == 0  # an empty directory is fine

    for args, says in [
        (["fraud-scoring"], "already exists and is not an empty directory"),
        (["x", "--set", "colour=blue"], "--set colour: not a template prompt; known: project_name, project_slug"),
        (["x", "--set", "problem_type=multiclass"], "not one of the choices: 'binary_classification', 'regression'"),
        (["x", "--set", "environments=qa"], "not one of the choices: 'staging,prod', 'prod', 'dev,staging,prod'"),
        (["x", "--set", "regression"], "expected key=value"),
        (["x", "--set", "aws_region=mars-1"], "aws_region 'mars-1': expected an AWS region"),
    ]:
        bad = mlgitops("new", *args, "--no-input", cwd=tmp_path, home=home)
        assert bad.returncode == 2 and says in bad.stderr, (args, bad.stderr)
        assert "Traceback" not in bad.stderr and not (tmp_path / "x").exists()
    missing = subprocess.run(
        [sys.executable, "-m", "mlgitops", "new", "x", "--no-input"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home), "MLGITOPS_TEMPLATE": str(tmp_path)},
    )
    assert missing.returncode == 2 and "no project template at MLGITOPS_TEMPLATE=" in missing.stderr


@pytest.mark.slow
def test_generated_project_passes_its_own_tests_in_a_fresh_venv(tmp_path):
    """A fresh venv sharing this one's third-party packages (a .pth file) gets the suite and the project installed
    editable from their directories, scaffolds with its own `mlgitops new`, and runs the project's tests via make."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "_shared_with_suite_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")} | {"HOME": str(tmp_path)}

    def run(*args: str, cwd: Path = tmp_path) -> None:
        done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    pip = (
        str(python),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--disable-pip-version-check",
        "-e",
    )
    run(*pip, str(SUITE))
    run(str(venv / "bin" / "mlgitops"), "new", "churn-risk", "--no-input", "--set", "environments=dev,staging,prod")
    project = tmp_path / "churn-risk"
    run(*pip, str(project))
    run("make", "test", f"VENV={venv}", cwd=project)


def test_make_setup_installs_the_pinned_suite_unless_overridden(projects, tmp_path):
    """`make -n setup` (make's dry run) shows what pip would install: the pin, MLGITOPS=, or $MLGITOPS_REQUIREMENT."""
    root = projects["binary_classification", "staging,prod"]
    pin = (root / "requirements-mlgitops.txt").read_text().splitlines()
    assert pin[-1] == str(SUITE) and pin[-2].startswith("# LOCAL-ONLY")  # rendered from this checkout
    assert f"`{SUITE}`. **Local-only:**" in (root / "README.md").read_text()

    def dry_run(*args: str, **env: str) -> str:
        done = subprocess.run(
            ["make", "-n", "setup", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("MLGITOPS")}, **env},
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "pip install -r requirements-mlgitops.txt" in dry_run()
    assert 'pip install "mlgitops==9.9.9"' in dry_run("MLGITOPS=mlgitops==9.9.9")
    assert 'pip install "mlgitops==9.9.8"' in dry_run(MLGITOPS_REQUIREMENT="mlgitops==9.9.8")
    assert "requirements-mlgitops.txt" not in dry_run(MLGITOPS_REQUIREMENT="mlgitops==9.9.8")


def test_the_ci_setup_action_installs_the_pin_and_refuses_a_local_one(projects, tmp_path):
    """The setup action's install script, run by bash with `python` answering as pip would (it echoes its arguments)."""
    root = projects["binary_classification", "staging,prod"]
    action = yaml.safe_load((root / ".github" / "actions" / "setup" / "action.yml").read_text())
    script = next(s["run"] for s in action["runs"]["steps"] if "run" in s)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text('#!/bin/sh\necho "python $*"\n')
    (bin_dir / "python").chmod(0o755)

    def run(requirement_file: str, given: str) -> subprocess.CompletedProcess:
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)
        (work / "requirements-mlgitops.txt").write_text(requirement_file)
        return subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "MLGITOPS": given},
        )

    released = run("# pinned\nmlgitops==0.3.0\n", "")
    assert released.returncode == 0 and released.stdout.splitlines() == [
        "python -m pip install -r requirements-mlgitops.txt",
        "python -m pip install -e .",
    ]
    local = run((root / "requirements-mlgitops.txt").read_text(), "")
    assert local.returncode == 1 and "::error file=requirements-mlgitops.txt::" in local.stdout
    override = run((root / "requirements-mlgitops.txt").read_text(), "mlgitops==0.3.1")
    assert override.returncode == 0 and override.stdout.splitlines()[0] == "python -m pip install mlgitops==0.3.1"
