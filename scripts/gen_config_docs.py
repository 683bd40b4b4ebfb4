"""Regenerate docs/config.md and docs/mlgitops.schema.json from the config schema (tests check they are current)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlgitops.config import json_schema

DOCS = Path(__file__).parents[1] / "docs"


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return prop["$ref"].split("/")[-1]
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])  # escaped: a bare | would split the table cell
    if "const" in prop:
        return f"`{prop['const']}`"
    if prop.get("type") == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if prop.get("type") == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"map of {_type(prop['additionalProperties'])}"
    return str(prop.get("type", "any"))


def _rows(body: dict[str, Any]) -> list[str]:
    required = set(body.get("required", []))
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, prop in body.get("properties", {}).items():
        default = "required" if key in required else f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
        limits = ", ".join(
            f"{k} {prop[k]}"
            for k in ("pattern", "minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength")
            if k in prop
        )
        text = " ".join(filter(None, [prop.get("description", ""), f"({limits})" if limits else ""]))
        text = text.replace("|", "\\|")
        rows.append(f"| `{key}` | {_type(prop)} | {default} | {text} |")
    return rows


def render() -> str:
    schema = json_schema()
    lines = [
        "# `mlgitops.yaml` reference",
        "",
        "Generated from the schema by `python scripts/gen_config_docs.py`; do not edit by hand.",
        "The same schema is exported as JSON Schema by `mlgitops config schema` (copy: `docs/mlgitops.schema.json`).",
        "",
        "Environments: `local` always exists; each key under `environments:` is an overlay deep-merged over the base",
        "(mappings merge, lists and scalars replace). Unknown keys are errors.",
        "",
        "## Config (top level)",
        "",
        *_rows(schema),
    ]
    for name, body in sorted(schema["$defs"].items()):
        if name.endswith("Overlay"):
            continue
        lines += [
            "",
            f"## {name}",
            "",
            *([body["description"].strip(), ""] if body.get("description") else []),
            *_rows(body),
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    DOCS.mkdir(exist_ok=True)
    (DOCS / "config.md").write_text(render())
    (DOCS / "mlgitops.schema.json").write_text(json.dumps(json_schema(), indent=2) + "\n")
