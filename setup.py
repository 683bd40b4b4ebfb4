"""Build hook: the wheel carries the suite files the CLI needs at run time, from their one copy in the repository.

`mlgitops new` and `mlgitops demo` render `templates/project`, whose post-generation hook takes the composite
actions from `ci/` and the config schema from `docs/` relative to the template. The wheel keeps that layout
under `mlgitops/_suite/` (dotfiles included, which package-data globs would skip) together with the CrossGuard
pack (`policies/`) and `source.json`: the git URL, commit and tag the build came from, which a generated
project's `.cruft.json` records for `mlgitops template update`. An editable install copies nothing: the
package finds the checkout beside it. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
SUITE_FILES = ("templates/project", "ci", "policies", "docs/mlgitops.schema.json")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")
SOURCE = "suite-source.json"  # in the sdist: where it was built from, since the sdist has no .git


def git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def source() -> dict:
    """The git URL (`origin`, without credentials; else this checkout's path), commit and exact tag of the build."""
    if (ROOT / SOURCE).is_file() and not (ROOT / ".git").exists():
        return json.loads((ROOT / SOURCE).read_text(encoding="utf-8"))
    url = os.environ.get("MLGITOPS_SOURCE_URL") or git("remote", "get-url", "origin")
    if url and "@" in url.split("://", 1)[-1].split("/", 1)[0] and "://" in url:
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://{rest.split('@', 1)[1]}"  # never ship a token from the build machine's remote
    return {
        "url": url,
        "path": str(ROOT),
        "commit": git("rev-parse", "HEAD"),
        "tag": git("describe", "--tags", "--exact-match"),
    }


class BuildPy(build_py):
    """Copy the suite files into `mlgitops/_suite/` of the build (not of the source tree)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "mlgitops" / "_suite"
        shutil.rmtree(target, ignore_errors=True)
        for name in SUITE_FILES:
            src, dst = ROOT / name, target / name
            if src.is_dir():
                shutil.copytree(src, dst, ignore=IGNORE)
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
        (target / "source.json").write_text(json.dumps(source(), indent=2) + "\n", encoding="utf-8")


class Sdist(sdist):
    """Record the build's git source in the sdist, for the wheel built from it."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        Path(base_dir, SOURCE).write_text(json.dumps(source(), indent=2) + "\n", encoding="utf-8")


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
