"""Git, the one way mlgitops calls it: the `git` CLI in a subprocess. A handful of plumbing commands do not
justify GitPython's import on every command, and the CLI is what users and CI already have configured."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run(cwd: Path | str, *args: str, timeout: float | None = 60) -> subprocess.CompletedProcess[str] | None:
    """`git ARGS` in `cwd`; None when git is not installed (or hangs past `timeout`)."""
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None


def output(cwd: Path | str, *args: str) -> str | None:
    """stdout of a git command that succeeded, else None."""
    done = run(cwd, *args)
    return done.stdout if done is not None and done.returncode == 0 else None


def line(cwd: Path | str, *args: str) -> str | None:
    """The stripped stdout of a git command that succeeded with output, else None (`rev-parse HEAD` in a new repository)."""
    out = output(cwd, *args)
    return out.strip() or None if out is not None else None


def toplevel(path: Path | str) -> Path | None:
    """The work tree `path` lies in, None outside git."""
    top = line(path, "rev-parse", "--show-toplevel")
    return Path(top) if top else None
