"""The one entry every capability uses to read a project's `mlgitops.yaml`: `load(project_dir, env)`.

Environment overlays (`environments.<env>`) deep-merge over the base: mappings merge, lists and
scalars replace. Errors cite `mlgitops.yaml:LINE:COL`, the key path, what was expected and found,
and all of them are reported together.
"""

from __future__ import annotations

import copy
import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

from mlgitops.config.schema import ENV_NAME, Config, Project, reference_problems
from mlgitops.config.yamlfile import Document, read
from mlgitops.errors import BadInput

__all__ = ["Config", "Project", "load", "check", "resolved", "json_schema", "FILENAME"]

FILENAME = "mlgitops.yaml"


def load(project_dir: Path | str, env: str = "local") -> Project:
    """The validated config of `env`, overlays applied, bound to its project folder."""
    root = Path(project_dir).resolve()
    doc = read(root / FILENAME, FILENAME)
    config, problems = _validate(doc, env, root)
    if problems or config is None:
        raise BadInput(_summary(problems))
    return config


class Checked(list[str]):
    """The environments `check` found valid ("local" first), and the `--json` document of `mlgitops config check`."""

    def to_dict(self) -> dict[str, Any]:
        return {"valid": True, "environments": list(self)}


def render_text(result: Checked) -> str:
    return f"{FILENAME} is valid ({', '.join(result)})\n"


def check(project_dir: Path | str) -> Checked:
    """Validate the base and every environment, including the values AWS would refuse (instance types, tags,
    region: `mlgitops.aws_api`) and the stack files' region and accounts (`stacks`); raise one BadInput listing every problem."""
    root = Path(project_dir).resolve()
    doc = read(root / FILENAME, FILENAME)
    envs = ["local", *(e for e in _declared(doc) if e != "local" and re.match(ENV_NAME, e))]
    problems: list[str] = []
    for env in envs:
        config, found = _validate(doc, env, root, aws=True)
        if config is not None and env != "local":  # Pulumi's own settings of the stack, against this file
            from mlgitops.config.stacks import problems as stack_problems

            found += stack_problems(config)
        for problem in found:
            if problem.removesuffix(f" (environment {env})") not in problems:
                problems.append(problem)
    if problems:
        raise BadInput(_summary(problems))
    return Checked(envs)


class Resolved(dict[str, Any]):
    """The fully resolved config as plain data, and the `--json` document of `mlgitops config show`."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


def resolved(config: Project) -> Resolved:
    """The fully resolved config as plain data (what `config show` prints)."""
    return Resolved({"env": config.env, **config.model_dump(mode="json", by_alias=True, exclude={"environments"})})


def render_yaml(result: Resolved) -> str:
    import yaml

    text: str = yaml.safe_dump(result.to_dict(), sort_keys=False)
    return text


def deep_merge(base: Any, overlay: Any) -> Any:
    """Mappings merge key by key; lists and scalars in the overlay replace the base."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(overlay)


def _declared(doc: Document) -> list[str]:
    envs = doc.data.get("environments")
    return [str(e) for e in envs] if isinstance(envs, dict) else []


def _validate(doc: Document, env: str, root: Path, aws: bool = False) -> tuple[Project | None, list[str]]:
    from pydantic import ValidationError

    declared = _declared(doc)
    if env != "local" and env not in declared:
        hint = difflib.get_close_matches(env, declared, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        known = ", ".join(["local", *declared])
        raise BadInput(f"--env {env}: not an environment of {doc.file} (known: {known}){suggestion}")
    data, marks = doc.data, dict(doc.marks)
    overlay = doc.data.get("environments", {}).get(env) if isinstance(doc.data.get("environments"), dict) else None
    if isinstance(overlay, dict):
        data = deep_merge({k: v for k, v in doc.data.items() if k != "environments"}, overlay)
        data["environments"] = doc.data["environments"]
        prefix = ("environments", env)
        marks.update({p[2:]: m for p, m in doc.marks.items() if p[:2] == prefix and len(p) > 2})
    view = Document(data, marks, doc.file)
    try:
        config = Project.of(Config.model_validate(data), root, env)
    except ValidationError as exc:
        return None, [_describe(error, view, env) for error in exc.errors()]
    scope = "" if env == "local" else f" (environment {env})"
    from mlgitops.confine import config_problems

    found = reference_problems(config) + config_problems(config, root)
    if aws:  # botocore's models: only `config check` pays for them; plans and policy checks catch the rest
        from mlgitops.aws_api import config_problems as aws_problems

        found += aws_problems(config)
    problems = [f"{view.mark(path)}: {'.'.join(path)}: {text}{scope}" for path, text in found]
    return config, problems


def _describe(error: Any, doc: Document, env: str) -> str:
    loc = tuple(error["loc"])
    where = doc.mark(loc)
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        known = _fields_at(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        text = f"unknown key '{loc[-1]}'" + (
            f"; did you mean '{hint[0]}'?" if hint else f"; allowed: {', '.join(known)}"
        )
    elif kind == "missing":
        text = "required key is missing"
    else:
        found = error.get("input")
        text = (
            msg.removeprefix("Value error, ")
            .replace("Input should be", "expected")
            .replace("String should", "expected value to")
        )
        if kind not in ("value_error", "assertion_error") and not isinstance(found, (dict, list)):
            text += f", found {found!r}"
    scope = "" if env == "local" else f" (environment {env})"
    return f"{where}: {dotted}: {text}{scope}"


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the schema model that `loc` points into, for "did you mean"."""
    from pydantic import BaseModel

    annotation: Any = Config
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = {f.alias or n: f for n, f in annotation.model_fields.items()}.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) in (dict, list):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    return (
        [f.alias or n for n, f in annotation.model_fields.items()]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel)
        else []
    )


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return (
        args[0] if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1 else annotation
    )


def _summary(problems: list[str]) -> str:
    head = f"{FILENAME} has {len(problems)} problem{'s' if len(problems) > 1 else ''}:" if len(problems) > 1 else ""
    return "\n".join([head, *(f"  {p}" for p in problems)]).strip() if head else problems[0]


def json_schema() -> dict[str, Any]:
    """JSON Schema of mlgitops.yaml; environment overlays accept any subset of the base."""
    from mlgitops.config.metrics import ALL, BINARY, MULTICLASS, REGRESSION
    from mlgitops.config.schema import SLUG

    schema = Config.model_json_schema()
    defs = schema.setdefault("$defs", {})
    # Rules `config check` enforces beyond pydantic's own schema: model names are slugs (they name endpoints) and
    # metric names are MLflow evaluate's (which of them a task computes needs the task: `config check` says that).
    schema["properties"]["models"]["propertyNames"] = {"pattern": SLUG}
    metrics = defs["Metrics"]["properties"]
    metrics["primary"]["anyOf"] = [{"enum": sorted(ALL), "type": "string"}, {"type": "null"}]
    metrics["thresholds"]["propertyNames"] = {"enum": sorted(ALL)}
    partial = {f"{name}Overlay": _partial(body) for name, body in list(defs.items())}
    defs.update(partial)
    overlay = _partial({k: v for k, v in schema.items() if k not in ("$defs", "title", "description")})
    overlay["properties"].pop("environments", None)
    defs["EnvironmentOverlay"] = overlay
    # In the base model only (an overlay may set metrics without the task): the metric names of its task.
    defs["Model"]["allOf"] = [
        {
            "if": {"properties": {"task": {"const": "regression"}}, "required": ["task"]},
            "then": {
                "properties": {
                    "metrics": {
                        "properties": {
                            "primary": {"enum": [*sorted(REGRESSION), None]},
                            "thresholds": {"propertyNames": {"enum": sorted(REGRESSION)}},
                        },
                        "not": {"required": ["average"]},
                    }
                }
            },
            "else": {
                "properties": {
                    "metrics": {
                        "properties": {
                            "primary": {"enum": [*sorted(BINARY | MULTICLASS), None]},
                            "thresholds": {"propertyNames": {"enum": sorted(BINARY | MULTICLASS)}},
                        }
                    }
                }
            },
        },
    ]
    schema["properties"]["environments"] = {
        "type": "object",
        "description": "Overlays deep-merged over the base per environment (local is always present).",
        "propertyNames": {"pattern": "^[a-z][a-z0-9]{0,11}$"},
        "additionalProperties": {"$ref": "#/$defs/EnvironmentOverlay"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mlgitops.dev/schema/mlgitops.json",
        **schema,
    }


def _partial(node: Any) -> Any:
    """A copy of a schema node with nothing required and $refs pointing at the Overlay copies."""
    if isinstance(node, dict):
        out = {k: _partial(v) for k, v in node.items() if k != "required"}
        if isinstance(out.get("$ref"), str):
            out["$ref"] = out["$ref"] + "Overlay"
        return out
    if isinstance(node, list):
        return [_partial(v) for v in node]
    return node
