"""Finish the rendered project: keep only what the answers need, bring in the suite's shared files.

The template lives at `templates/project` of the mlgitops suite; cookiecutter has the whole suite on
disk (a local checkout, or its clone of `gh:...` with `--directory templates/project`), so the
composite actions (`ci/<step>/`) and the config JSON Schema (`docs/mlgitops.schema.json`) are copied
from there instead of being kept twice.
"""
import json
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


def suite_commit(suite: Path):
    """The suite's git commit, recorded for a later template update; None outside a git checkout."""
    try:
        out = subprocess.run(["git", "-C", str(suite), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def record_answers(project: Path, suite, context: dict) -> None:
    """`.cruft.json` (cruft's format): the template source, suite commit and answers, for a later update."""
    template = context["_template"]
    if suite is not None and not template.startswith(("gh:", "gl:", "bb:", "git@", "git+")) and "://" not in template:
        template = str(suite)  # a local checkout: recorded as its root, like `cookiecutter SUITE --directory templates/project`
    answers = {k: v for k, v in context.items() if not k.startswith("_")}
    doc = {"template": template, "commit": context.get("_commit") or (suite and suite_commit(suite)), "checkout": context.get("_checkout"),
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
    record_answers(project, suite, context)
