"""`mlgitops new` renders the project template (`templates/project`) with cookiecutter's own API;
`mlgitops template update` brings a project up to a newer template with cruft.

The template is the one the installed wheel carries, or the suite checkout's (an editable install), or
`$MLGITOPS_TEMPLATE`. A wheel install tells the template's hook which mlgitops the project should install
and where the template's git source is (`mlgitops.suite`); from a checkout the hook finds both itself.
It renders into a temporary directory and moves into place only when the template's hooks accept the
answers, so a rejected render leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops import git
from mlgitops.errors import BadInput
from mlgitops.files import redirected
from mlgitops.suite import installed_source
from mlgitops.suite import root as suite_root

__all__ = [
    "TEMPLATE_DIR",
    "TEMPLATE_ENV",
    "git_init",
    "new",
    "parse_sets",
    "template_dir",
    "update",
    "variables",
    "work_tree_of",
]

TEMPLATE_ENV = "MLGITOPS_TEMPLATE"
TEMPLATE_DIR = suite_root() / "templates" / "project"


def template_dir() -> Path:
    """`$MLGITOPS_TEMPLATE`, else the installed or checked-out suite's `templates/project`."""
    configured = os.environ.get(TEMPLATE_ENV)
    path = Path(configured).expanduser().resolve() if configured else TEMPLATE_DIR
    if not (path / "cookiecutter.json").is_file():
        where = (
            f"{TEMPLATE_ENV}={configured}"
            if configured
            else f"{path} (shipped with the mlgitops package; reinstall it)"
        )
        raise BadInput(
            f"no project template at {where}; set {TEMPLATE_ENV} to <mlgitops checkout>/templates/project "
            "or run `cookiecutter <mlgitops checkout or gh:OWNER/REPO> --directory templates/project`"
        )
    return path


def variables(template: Path) -> dict[str, Any]:
    """The template's prompts: name -> default text, or the list of choices (first is the default)."""
    data = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def parse_sets(items: list[str]) -> dict[str, str]:
    """`--set key=value` options to answers (the last of a repeated key wins)."""
    answers = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--set {item}: expected key=value, e.g. --set problem_type=regression")
        answers[key.strip()] = value
    return answers


def check_answers(answers: dict[str, str], known: dict[str, Any]) -> None:
    """Unknown keys and values outside a choice list are bad input, named with what is allowed."""
    for key, value in answers.items():
        if key not in known:
            raise BadInput(f"--set {key}: not a template prompt; known: {', '.join(known)}")
        if isinstance(known[key], list) and value not in known[key]:
            raise BadInput(f"--set {key}={value}: not one of the choices: {', '.join(repr(c) for c in known[key])}")


def new(dest: Path, answers: dict[str, str] | None = None, no_input: bool = True) -> Path:
    """Render the template into `dest` (created; it must not exist or be empty) and return `dest`.

    `answers` override the template's defaults; without `project_name` or `project_slug` the project
    is named after `dest`. A hook's rejection is BadInput carrying the hook's message.
    """
    from cookiecutter.exceptions import CookiecutterException, FailedHookException
    from cookiecutter.main import cookiecutter

    dest = Path(dest).expanduser().resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BadInput(f"{dest}: already exists and is not an empty directory; choose a new directory")
    template = template_dir()
    answers = dict(answers or {})
    check_answers(answers, variables(template))
    if "project_name" not in answers and "project_slug" not in answers:
        answers["project_name"] = dest.name
    source = installed_source() if template == TEMPLATE_DIR else None
    context = (
        {**answers, "_mlgitops": source.model_dump(mode="json") | {"local_only": source.local_only}}
        if source
        else answers
    )
    with tempfile.TemporaryDirectory(prefix="mlgitops-new-") as tmp, tempfile.TemporaryFile() as stderr:
        try:
            with redirected(stderr, (2,)), _quiet_cookiecutter_logs():
                rendered = Path(cookiecutter(str(template), no_input=no_input, extra_context=context, output_dir=tmp))
        except FailedHookException:
            raise BadInput(_hook_message(stderr) or f"the template's hooks rejected the answers {answers}") from None
        except CookiecutterException as exc:
            raise BadInput(f"template {template}: {exc}") from None
        _replay(stderr)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            dest.rmdir()
        shutil.move(rendered, dest)
    return dest


IDENTITY = {"user.name": "mlgitops", "user.email": "mlgitops@mlgitops.invalid"}  # only where git has none


def work_tree_of(path: Path) -> Path | None:
    """The git work tree `path` lies in, if any: a new project there must not become a nested repository."""
    return git.toplevel(path)


def git_init(root: Path) -> bool:
    """A repository with the scaffold committed (promotion commits to git, training links a clean commit);
    False without git. Without a configured identity the repository gets a local fallback author."""
    if git.output(root, "init", "-q") is None:
        return False
    for key, value in IDENTITY.items():
        if not git.output(root, "config", key):
            git.output(root, "config", key, value)  # this repository only: promotion commits need an author
    return (
        git.output(root, "add", "-A") is not None
        and git.output(root, "commit", "-q", "-m", "scaffold from the mlgitops template") is not None
    )


@dataclass(frozen=True)
class Created:
    """A new project, and what became of its git repository."""

    path: Path
    repository: str  # "" (not asked for), or how the project relates to git, for people to read


def create(dest: Path, answers: dict[str, str] | None = None, no_input: bool = True, init_git: bool = True) -> Created:
    """`new`, then a git repository with a first commit, unless the project lies inside another work tree."""
    path = new(dest, answers, no_input=no_input)
    if not init_git:
        return Created(path, "")
    outer = work_tree_of(path)
    if outer is not None:
        return Created(path, f"inside the git work tree {outer}: not made a repository of its own")
    return Created(
        path, "git repository, first commit" if git_init(path) else "git not available: run `git init` yourself"
    )


def render_text(result: Created) -> str:
    note = f" ({result.repository})" if result.repository else ""
    return f"created {result.path}{note}\nnext: cd {result.path} && make setup && make test && make pipeline\n"


def update(project: Path, checkout: str | None = None) -> bool:
    """Re-render the template at `checkout` (default: its newest commit) and at the recorded commit with the
    answers in `.cruft.json`, and apply the difference as a 3-way merge, so local edits survive.

    cruft does the work on the same `.cruft.json` the template writes; False when git or cruft refused
    (a dirty work tree, say: cruft printed why)."""
    project = Path(project).expanduser().resolve()
    if not (project / ".cruft.json").is_file():
        raise BadInput(
            f"{project}/.cruft.json not found: only projects rendered from the mlgitops template (`mlgitops new`) can be updated"
        )
    if not (project / ".git").exists():
        raise BadInput(
            f"{project}: not a git repository; commit the project first so the update can be reviewed and reverted"
        )
    import cruft
    from cruft.exceptions import CruftError
    from git.exc import GitCommandError

    try:
        return cruft.update(project, checkout=checkout, skip_apply_ask=True)
    except (CruftError, GitCommandError) as exc:
        raise BadInput(
            f"{project}/.cruft.json: cannot update from the recorded template ({str(exc).strip().splitlines()[0]})"
        ) from None


@contextlib.contextmanager
def _quiet_cookiecutter_logs() -> Iterator[None]:
    """cookiecutter logs a failed hook with a traceback; the hook's own message says it better."""
    logger = logging.getLogger("cookiecutter")
    handler, propagate = logging.NullHandler(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _captured(file: Any) -> str:
    file.seek(0)
    return file.read().decode("utf-8", errors="replace")


def _hook_message(file: Any) -> str:
    lines = [line.strip() for line in _captured(file).splitlines() if line.strip()]
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    return "\n".join(errors or lines[-5:])


def _replay(file: Any) -> None:
    text = _captured(file)
    if text:
        sys.stderr.write(text)
