"""Finish the rendered project: keep only what the answers need, bring in the suite's shared files, and
record which mlgitops the project installs and where its template came from.

The template lives at `templates/project` of the mlgitops suite; cookiecutter has the whole suite on
disk (a local checkout, its clone of `gh:...` with `--directory templates/project`, or the copy an
installed wheel carries, laid out the same way), so the composite actions (`ci/<step>/`) and the config
JSON Schema (`docs/mlgitops.schema.json`) are copied from there instead of being kept twice.

`requirements-mlgitops.txt` pins the suite the project came from, for `make setup` and CI: a git source as
`mlgitops @ git+URL@COMMIT`, a local checkout as its path (local-only). `mlgitops new` from an installed
wheel passes its own answer in `_mlgitops` (a release as `mlgitops==X.Y.Z`; see `mlgitops.suite`).
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

SAMPLES = {"binary_classification": "breast_cancer", "regression": "diabetes"}
ALL_ENVIRONMENTS = ("dev", "staging", "prod")


def prune(project: Path, problem_type: str, environments: list) -> None:
    """Drop the other problem type's sample and the stack files of environments not chosen."""
    for kind, sample in SAMPLES.items():
        if kind != problem_type:
            shutil.rmtree(project / "data" / sample)
            (project / "expectations" / f"{sample}.json").unlink()
    for env in ALL_ENVIRONMENTS:
        if env not in environments:
            (project / "infra" / f"Pulumi.{env}.yaml").unlink()


def copy_suite_files(project: Path, suite: Path) -> None:
    """Composite actions to `.github/actions/<step>/`, the config schema to `.mlgitops.schema.json`."""
    schema = suite / "docs" / "mlgitops.schema.json"
    if not schema.is_file():
        sys.exit(f"error: {schema} not found: render the template from a checkout of the mlgitops suite")
    shutil.copyfile(schema, project / ".mlgitops.schema.json")
    ci = suite / "ci"
    for action in sorted(ci.glob("*/action.yml")) if ci.is_dir() else []:
        shutil.copytree(action.parent, project / ".github" / "actions" / action.parent.name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)


def suite_dir(context: dict):
    """The suite checkout: above cookiecutter's `_repo_dir` (templates/project), else a local `_template`
    (a re-render by cruft, which passes neither the clone nor `_repo_dir`); None when not on disk."""
    if context.get("_repo_dir"):
        return Path(context["_repo_dir"]).resolve().parents[1]
    local = Path(context.get("_template") or "").expanduser()
    return local.resolve() if (local / "docs" / "mlgitops.schema.json").is_file() else None


def git(suite, *args: str):
    """One line of git output in the suite checkout; None outside a git checkout or on failure."""
    if suite is None:
        return None
    try:
        out = subprocess.run(["git", "-C", str(suite), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def is_remote(template: str) -> bool:
    return template.startswith(("gh:", "gl:", "bb:", "git@", "git+")) or "://" in template


def pip_git_url(url: str) -> str:
    """A git remote as pip's `git+` URL: https/ssh/file URLs, scp-like `git@host:path` and cookiecutter's `gh:`."""
    hosts = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/", "bb:": "https://bitbucket.org/"}
    for prefix, host in hosts.items():
        if url.startswith(prefix):
            url = host + url[len(prefix):]
    if "://" not in url and not url.startswith("git+") and ":" in url:
        user_host, path = url.split(":", 1)
        url = f"ssh://{user_host}/{path}"
    return url if url.startswith("git+") else "git+" + url


RELEASE_TAG = re.compile(r"^refs/tags/v(\d+\.\d+\.\d+)(\^\{\})?$")


def released_version(suite, url: str, commit):
    """X.Y.Z when `commit` is tagged vX.Y.Z in the suite's clone, or at `url` (a re-render by cruft has no clone)."""
    if not commit:
        return None
    if suite is not None:
        refs = [f"{commit} refs/tags/{tag}" for tag in (git(suite, "tag", "--points-at", commit) or "").split()]
    else:
        try:
            out = subprocess.run(["git", "ls-remote", "--tags", url], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        refs = out.stdout.splitlines() if out.returncode == 0 else []
    for line in refs:
        sha, _, ref = line.partition(" ") if " " in line else line.partition("\t")
        match = RELEASE_TAG.match(ref.strip())
        if match and sha == commit:
            return match.group(1)
    return None


def source(context: dict, suite) -> dict:
    """The mlgitops the project installs and the template's git source for `.cruft.json`: what `mlgitops new`
    passed (an installed wheel), else a git source by URL and commit, else the local checkout by its path."""
    given = context.get("_mlgitops") or {}
    if given.get("requirement"):
        return given
    template, commit = context["_template"], context.get("_commit") or git(suite, "rev-parse", "HEAD")
    if is_remote(template):
        url = git(suite, "remote", "get-url", "origin") or template  # cookiecutter's clone knows the expanded URL
        release = released_version(suite, url, commit)
        if release:  # the commit of a release tag vX.Y.Z: the release on the index, as from `pip install mlgitops==X.Y.Z`
            requirement, origin = f"mlgitops=={release}", "release"
        else:
            requirement, origin = f"mlgitops @ {pip_git_url(url)}@{commit}" if commit else f"mlgitops @ {pip_git_url(url)}", "git"
        return {"origin": origin, "requirement": requirement, "template": url, "commit": commit,
                "checkout": context.get("_checkout"), "local_only": False}
    if suite is not None:  # a checkout on this disk, recorded as its root, like `cookiecutter SUITE --directory templates/project`
        return {"origin": "local", "requirement": str(suite), "template": str(suite), "commit": commit,
                "checkout": context.get("_checkout"), "local_only": True}
    print("warning: the mlgitops suite is not on disk: requirements-mlgitops.txt names mlgitops unpinned", file=sys.stderr)
    return {"origin": "release", "requirement": "mlgitops", "template": template, "commit": commit, "checkout": None, "local_only": False}


README_MARKER = "<!-- mlgitops requirement -->"  # the line of README.md that says which mlgitops `make setup` installs


def record_source(project: Path, found: dict) -> None:
    """`requirements-mlgitops.txt` for `make setup` and CI; the README says where it points and how to change it."""
    local = found.get("local_only")
    lines = ["# The mlgitops this project was generated with: `make setup` and CI's setup action install it.",
             "# Change this line to move to another mlgitops (e.g. mlgitops==X.Y.Z), or override it once:",
             "# `make setup MLGITOPS=<pip spec>`; in CI, the repository variable MLGITOPS_REQUIREMENT."]
    if local:
        lines.append("# LOCAL-ONLY: exists only on the machine that generated this project; CI and other machines cannot install it.")
    (project / "requirements-mlgitops.txt").write_text("\n".join([*lines, found["requirement"], ""]), encoding="utf-8")
    readme = project / "README.md"
    note = f"`make setup` installs mlgitops as pinned in `requirements-mlgitops.txt`: `{found['requirement']}`."
    if local:
        note += (" **Local-only:** that mlgitops exists only on the machine that generated this project (a checkout, a wheel "
                 "or a development build), so CI and other machines cannot install it; pin a release (`mlgitops==X.Y.Z`) "
                 "or a git commit (`mlgitops @ git+https://...@COMMIT`) there before you push.")
    readme.write_text(readme.read_text(encoding="utf-8").replace(README_MARKER, note), encoding="utf-8")


def record_answers(project: Path, found: dict, context: dict) -> None:
    """`.cruft.json` (cruft's format): the template's git source (URL or path), commit and answers, for a later update."""
    template = found.get("template") or context["_template"]
    answers = {k: v for k, v in context.items() if not k.startswith("_")}
    doc = {"template": template, "commit": found.get("commit"), "checkout": found.get("checkout") or context.get("_checkout"),
           "directory": "templates/project", "context": {"cookiecutter": {**answers, "_template": template}}}
    (project / ".cruft.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    context = json.loads({{ cookiecutter | tojson | tojson }})
    project, suite = Path.cwd(), suite_dir(context)
    prune(project, context["problem_type"], context["environments"].split(","))
    if suite is None:
        print("warning: the mlgitops suite is not on disk: .github/actions/ and .mlgitops.schema.json were not copied", file=sys.stderr)
    else:
        copy_suite_files(project, suite)
    found = source(context, suite)
    record_source(project, found)
    record_answers(project, found, context)
