"""The JSON Schema of every record (`docs/evidence.schema.json`), one `$defs` entry per `kind`."""

from __future__ import annotations

import json
from typing import Any

from mlgitops.evidence.records import RECORDS


def json_schema() -> dict[str, Any]:
    """As the records are written (computed fields included); a document validates against `$defs[kind]`."""
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema([(r, "serialization") for r in RECORDS], ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mlgitops.dev/evidence.schema.json",
        "title": "mlgitops evidence records",
        "description": "Records written under .mlgitops/evidence/<run>/ and deploy/<env>.yaml; pick the definition by `kind`.",
        "oneOf": [{"$ref": f"#/$defs/{r.__name__}"} for r in RECORDS],
        "$defs": top["$defs"],
    }


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
