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
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.io", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.io"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV}).stdout.strip()


def commit_all(cwd: Path, message: str) -> str:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)
    return git(cwd, "rev-parse", "HEAD")


def cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlgitops", "--project", str(project), *args], capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV})


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
