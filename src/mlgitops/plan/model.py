"""The Plan: what a Pulumi program would declare, as plain data every other capability can read.

JSON format (see ARCHITECTURE.md): `{"stack", "project", "resources": [{"urn", "type", "name",
"parent", "dependencies", "inputs"}], "outputs"}`; inputs are camelCase as Pulumi registers them.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput


@dataclass
class Resource:
    """One registered resource. `parent` is the parent URN (None for top-level ones)."""

    urn: str
    type: str
    name: str
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """Every resource a program declares for one stack, plus its stack outputs and notes (why something is absent)."""

    stack: str
    project: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def by_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def get(self, urn_or_name: str) -> Resource:
        """The resource with this URN or logical name (KeyError if absent)."""
        for r in self.resources:
            if r.urn == urn_or_name or r.name == urn_or_name:
                return r
        raise KeyError(urn_or_name)

    def children(self, parent_urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent_urn]

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "project": self.project, "resources": [asdict(r) for r in self.resources],
                "outputs": self.outputs, "notes": self.notes}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Plan":
        try:
            resources = [Resource(**r) for r in data.get("resources", [])]
            return cls(stack=data["stack"], project=data["project"], resources=resources,
                       outputs=data.get("outputs") or {}, notes=data.get("notes") or [])
        except (KeyError, TypeError) as exc:
            raise BadInput(f"not a plan: missing or unexpected field {exc}; expected {{stack, project, resources, outputs}}") from None

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"not a plan: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        if not isinstance(data, dict):
            raise BadInput("not a plan: expected a JSON object with stack, project, resources, outputs")
        return cls.from_dict(data)

    def save(self, path: Path | str) -> Path:
        from mlgitops.evidence import atomic_write

        return atomic_write(Path(path), self.to_json())

    @classmethod
    def load(cls, path: Path | str) -> "Plan":
        from mlgitops import files

        path = Path(path)
        if not path.exists() and not path.is_symlink():
            raise BadInput(f"{path}: no such plan file; write one with `mlgitops plan --env ENV --out {path}`")
        data = files.load_json(path, fix=f"write it again with `mlgitops plan --env ENV --out {path}`")
        if not isinstance(data, dict):
            raise BadInput(f"{path}: not a plan: expected a JSON object with stack, project, resources, outputs")
        try:
            return cls.from_dict(data)
        except BadInput as exc:
            raise BadInput(f"{path}: {exc}") from None
