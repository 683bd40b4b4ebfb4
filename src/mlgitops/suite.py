"""Where the suite's own files are, and which mlgitops a project generated from them should install.

An installed wheel carries the template, the composite actions, the config schema and the CrossGuard pack
under `mlgitops/_suite/` (laid out as in the repository, see setup.py); an editable install or a checkout on
`PYTHONPATH` uses the repository itself. A project pins the suite it came from: a release by version, a git
install by URL and commit, and anything local by its path (which only this machine can install).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlparse

from pydantic import BaseModel

__all__ = ["Origin", "Source", "installed_source", "root", "source_of", "version"]

PACKAGED = Path(__file__).resolve().parent / "_suite"
CHECKOUT = Path(__file__).resolve().parents[2]
DIST = "mlgitops"


def root() -> Path:
    """The packaged copy in a wheel install, else the checkout this package runs from."""
    return PACKAGED if (PACKAGED / "templates" / "project" / "cookiecutter.json").is_file() else CHECKOUT


def version() -> str:
    """The installed distribution's version (from git tags at build time), or 0+unknown outside any install."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(DIST)
    except PackageNotFoundError:
        return "0+unknown"


class Origin(StrEnum):
    """Where the installed mlgitops came from, which decides how a generated project installs it again."""

    RELEASE = "release"  # an index: `mlgitops==X.Y.Z`
    GIT = "git"  # `pip install git+URL@REF`: `mlgitops @ git+URL@COMMIT`
    URL = "url"  # an archive on the web: `mlgitops @ URL`
    LOCAL = "local"  # a path on this machine (checkout, wheel, dev build): local-only


class Source(BaseModel):
    """What a generated project records: the requirement for `make setup` and CI, and the template's git
    source (URL or path, commit, tag) for `.cruft.json` and `mlgitops template update`."""

    origin: Origin
    requirement: str
    template: str | None = None
    commit: str | None = None
    checkout: str | None = None

    @property
    def local_only(self) -> bool:
        return self.origin == Origin.LOCAL


def source_of(dist_version: str, direct_url: dict | None, built: dict) -> Source:
    """The Source of an install: `direct_url` is pip's PEP 610 record (None for an index install), `built` the
    wheel's `_suite/source.json` (git URL or path, commit and tag of the build)."""
    template, commit, tag = built.get("url") or built.get("path"), built.get("commit"), built.get("tag")
    if direct_url is None:
        # A version with a local part (+g<commit>) is a local build found through this machine's pip config.
        origin = Origin.LOCAL if "+" in dist_version else Origin.RELEASE
        return Source(
            origin=origin, requirement=f"{DIST}=={dist_version}", template=template, commit=commit, checkout=tag
        )
    url, vcs = direct_url.get("url", ""), direct_url.get("vcs_info")
    if vcs and vcs.get("vcs") == "git":
        return Source(
            origin=Origin.GIT,
            requirement=f"{DIST} @ git+{url}@{vcs['commit_id']}",
            template=url,
            commit=vcs["commit_id"],
            checkout=vcs.get("requested_revision"),
        )
    if url.startswith("file:"):
        return Source(
            origin=Origin.LOCAL, requirement=unquote(urlparse(url).path), template=template, commit=commit, checkout=tag
        )
    return Source(origin=Origin.URL, requirement=f"{DIST} @ {url}", template=template, commit=commit, checkout=tag)


def installed_source() -> Source | None:
    """The Source of the installed wheel; None when running from a checkout (the template's hook then
    records the checkout itself)."""
    if root() != PACKAGED:
        return None
    from importlib.metadata import PackageNotFoundError, distribution

    built_file = PACKAGED / "source.json"
    built = json.loads(built_file.read_text(encoding="utf-8")) if built_file.is_file() else {}
    try:
        dist = distribution(DIST)
    except PackageNotFoundError:
        return None
    direct = dist.read_text("direct_url.json")
    return source_of(dist.version, json.loads(direct) if direct else None, built)
