"""`mlgitops template update`: a project follows a newer template (re-rendered with its recorded answers and
merged 3-way by cruft), keeping its own edits; dirty trees and unrendered projects are refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlgitops.scaffold import TEMPLATE_DIR, TEMPLATE_ENV, new

SUITE = TEMPLATE_DIR.parents[1]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t.io",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t.io",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV}
    ).stdout.strip()


def commit_all(cwd: Path, message: str) -> str:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)
    return git(cwd, "rev-parse", "HEAD")


def cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(project), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )


@pytest.fixture
def suite_and_project(tmp_path, monkeypatch):
    """A git copy of the suite's template (commit A) and a committed project rendered from it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    suite = tmp_path / "suite"
    shutil.copytree(SUITE / "templates", suite / "templates")
    shutil.copytree(SUITE / "docs", suite / "docs")
    if (SUITE / "ci").is_dir():
        shutil.copytree(SUITE / "ci", suite / "ci")
    git(suite, "init", "-q")
    first = commit_all(suite, "template A")
    monkeypatch.setenv(TEMPLATE_ENV, str(suite / "templates" / "project"))
    project = new(tmp_path / "work" / "acme-risk", {"owner": "ds@acme.io", "github_org": "acme-ml"})
    git(project, "init", "-q")
    commit_all(project, "scaffold")
    return suite, project, first


def test_update_merges_template_changes_and_keeps_local_edits(suite_and_project):
    suite, project, first = suite_and_project
    assert json.loads((project / ".cruft.json").read_text())["commit"] == first
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur own notes.\n")
    commit_all(project, "local edit")
    makefile = suite / "templates/project/{{cookiecutter.project_slug}}/Makefile"
    makefile.write_text(makefile.read_text() + "\nlint:\n\t@echo lint {{ cookiecutter.project_slug }}\n")
    second = commit_all(suite, "template B: a lint target")

    result = cli(project, "template", "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "@echo lint acme-risk" in (project / "Makefile").read_text()
    assert "Our own notes." in readme.read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == second
    assert cli(project, "config", "check").returncode == 0


def test_update_refuses_a_dirty_tree_and_changes_nothing(suite_and_project):
    _, project, _ = suite_and_project
    (project / "README.md").write_text("uncommitted\n")
    before = (project / ".cruft.json").read_text()
    result = cli(project, "template", "update")
    assert result.returncode == 2 and "clean" in result.stdout + result.stderr
    assert (project / ".cruft.json").read_text() == before


def test_update_of_a_project_not_rendered_from_the_template_is_bad_input(tmp_path):
    result = cli(tmp_path, "template", "update")
    assert result.returncode == 2 and ".cruft.json not found" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def remote_and_project(tmp_path, monkeypatch):
    """A bare repository standing in for the suite's remote (commit A), and a committed project rendered from its
    URL as from GitHub (`cookiecutter URL --directory templates/project`)."""
    from cookiecutter.main import cookiecutter

    monkeypatch.setenv("HOME", str(tmp_path))  # cookiecutter clones into ~/.cookiecutters
    work = tmp_path / "suite"
    for name in ("templates", "docs", "ci"):
        shutil.copytree(SUITE / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    git(work, "init", "-q", "-b", "main")
    first = commit_all(work, "template A")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(remote))
    git(work, "remote", "add", "origin", str(remote))
    url = remote.as_uri()
    project = Path(
        cookiecutter(
            url,
            directory="templates/project",
            no_input=True,
            output_dir=str(tmp_path / "work"),
            extra_context={"project_name": "acme-risk", "owner": "ds@acme.io", "github_org": "acme-ml"},
        )
    )
    git(project, "init", "-q")
    commit_all(project, "scaffold")
    return work, url, project, first


def pin(project: Path) -> str:
    return (project / "requirements-mlgitops.txt").read_text().splitlines()[-1]


def test_a_project_from_a_git_remote_records_it_and_updates_from_it(remote_and_project):
    work, url, project, first = remote_and_project
    recorded = json.loads((project / ".cruft.json").read_text())
    assert (recorded["template"], recorded["commit"], recorded["directory"]) == (url, first, "templates/project")
    assert pin(project) == f"mlgitops @ git+{url}@{first}"
    assert "LOCAL-ONLY" not in (project / "requirements-mlgitops.txt").read_text()

    makefile = work / "templates/project/{{cookiecutter.project_slug}}/Makefile"
    makefile.write_text(makefile.read_text() + "\nlint:\n\t@echo lint {{ cookiecutter.project_slug }}\n")
    second = commit_all(work, "template B: a lint target")
    git(work, "push", "-q", "origin", "main")

    result = cli(project, "template", "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "@echo lint acme-risk" in (project / "Makefile").read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == second
    assert pin(project) == f"mlgitops @ git+{url}@{second}"  # the suite moves with its template


def test_a_release_tag_pins_the_release(remote_and_project):
    """A project updated to a tagged release vX.Y.Z pins mlgitops==X.Y.Z, the release built from that tag."""
    work, url, project, _ = remote_and_project
    readme = work / "templates/project/{{cookiecutter.project_slug}}/README.md"
    readme.write_text(readme.read_text() + "\nReleased.\n")
    commit_all(work, "template C")
    git(work, "tag", "-a", "v0.4.0", "-m", "release 0.4.0")
    git(work, "push", "-q", "--follow-tags", "origin", "main")

    result = cli(project, "template", "update", "--checkout", "v0.4.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert pin(project) == "mlgitops==0.4.0" and "Released." in (project / "README.md").read_text()
