"""The suite's own GitHub workflows: `ci.yml` runs .ci/run on pull requests and main on every supported Python;
`release.yml` builds once on a tag, checks, publishes to TestPyPI and then to PyPI from the protected `pypi`
environment by trusted publishing. Linted by the real actionlint and zizmor, pinned and least-privilege like
the template's workflows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_workflows import (
    PINNED,
    SUITE,
    USES,
    VERSION_COMMENT,
    load,
    medium_or_high,
    run_actionlint,
    run_scripts,
    run_zizmor,
)

WORKFLOWS = SUITE / ".github" / "workflows"


@pytest.fixture(scope="module")
def linted_copy(tmp_path_factory) -> Path:
    """The workflows alone: the linters would otherwise also read the template's unrendered files."""
    root = tmp_path_factory.mktemp("suite-workflows")
    shutil.copytree(WORKFLOWS, root / ".github" / "workflows")
    return root


def test_actionlint_and_zizmor_pass(linted_copy):
    done = run_actionlint(linted_copy)
    assert done.returncode == 0 and "Checking 2 workflow file(s)" in done.stdout, done.stdout + done.stderr
    assert medium_or_high(run_zizmor(linted_copy)) == []


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_pinned_least_privilege_and_no_stored_credentials(name):
    path = WORKFLOWS / name
    text, doc = path.read_text(encoding="utf-8"), load(path)
    for ref, rest in USES.findall(text):
        assert PINNED.match(ref) and VERSION_COMMENT.match(rest), (
            f"{name}: {ref}{rest}: pin a full commit SHA with `# vX.Y.Z`"
        )
    assert doc["permissions"] == {} and doc["concurrency"]["group"]
    assert "secrets." not in text and "password" not in text, "trusted publishing needs no token"
    for job_id, job in doc["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"{name}: {job_id}: no timeout"
        assert set(job["permissions"].items()) <= {("contents", "read"), ("id-token", "write")}, f"{name}: {job_id}"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False and step["with"]["fetch-depth"] == 0, (
                    f"{name}: {job_id}"
                )
        assert all("${{" not in script for script in run_scripts(job["steps"])), (
            f"{name}: {job_id}: expression in a script"
        )


def test_ci_runs_the_readme_commands_on_pull_requests_and_main_on_every_python():
    doc = load(WORKFLOWS / "ci.yml")
    assert set(doc["on"]) == {"pull_request", "push"} and doc["on"]["push"]["branches"] == ["main"]
    [job] = doc["jobs"].values()
    assert job["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"] and job["strategy"]["fail-fast"] is False
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    assert run_scripts(job["steps"]) == ["bash .ci/run"] and (SUITE / ".ci" / "run").is_file()


def test_release_builds_once_then_testpypi_then_pypi_from_the_protected_environment():
    doc = load(WORKFLOWS / "release.yml")
    assert doc["on"] == {"push": {"tags": ["v*"]}} and doc["concurrency"]["cancel-in-progress"] is False
    build, test, prod = doc["jobs"]["build"], doc["jobs"]["testpypi"], doc["jobs"]["pypi"]
    assert build["permissions"] == {"contents": "read"}
    scripts = "\n".join(run_scripts(build["steps"]))
    assert "python -m build" in scripts and "twine check --strict dist/*" in scripts
    assert (test["needs"], prod["needs"]) == ("build", "testpypi")
    assert test["environment"]["name"] == "testpypi" and prod["environment"]["name"] == "pypi"
    for job in (test, prod):
        assert job["permissions"] == {"id-token": "write"}  # OIDC: the publish jobs alone, and nothing else
        publish = [s for s in job["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
        assert len(publish) == 1 and not set(publish[0].get("with") or {}) - {"repository-url"}
    assert [s for s in test["steps"] if "pypi-publish" in s.get("uses", "")][0]["with"][
        "repository-url"
    ] == "https://test.pypi.org/legacy/"
