"""Safe YAML reading that keeps where every value came from.

PyYAML composes the node graph (which keeps line/column marks); we build plain Python from it
ourselves so we can refuse duplicate keys, bound alias expansion, and remember the position of
every key path for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlgitops import files
from mlgitops.errors import BadInput
from mlgitops.files import Mark

__all__ = ["Document", "Mark", "read", "load_plain", "parse"]

MAX_BYTES = files.MAX_YAML_BYTES
MAX_NODES = files.MAX_NODES

Path_ = files.Path_


@dataclass
class Document:
    """A parsed YAML mapping plus the position of every key path in it."""

    data: dict[str, Any]
    marks: dict[Path_, Mark] = field(default_factory=dict)
    file: str = ""

    def mark(self, path: Path_) -> Mark:
        """Position of `path`, or of its nearest ancestor that exists in the file."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.marks:
                return self.marks[path[:end]]
        return Mark(self.file, 1, 1)


def read(path: Path, label: str | None = None) -> Document:
    label = label or path.name
    if not path.exists() and not path.is_symlink():
        raise BadInput(f"{label}: not found in {path.parent}; create it (`mlgitops new` scaffolds a project)")
    raw = files.read_bytes(path, fix="keep the config a small regular file", max_bytes=MAX_BYTES, label=label)
    return parse(raw, label)


def load_plain(path: Path, fix: str) -> Any:
    """Another YAML file (deploy state, Pulumi files): plain data through the bounded reader, errors as BadInput with the line and `fix`."""
    return files.load_yaml(path, fix=fix)


def parse(raw: bytes, label: str) -> Document:
    if len(raw) > MAX_BYTES:
        raise BadInput(
            f"{label}:1: file is {len(raw)} bytes; the limit is {MAX_BYTES} (1 MiB). Keep data out of the config."
        )
    text = files.decode(raw, label)
    for number, content in enumerate(text.splitlines(), 1):
        indent = content[: len(content) - len(content.lstrip(" \t"))]
        if "\t" in indent:
            raise BadInput(f"{label}:{number}:{indent.index(chr(9)) + 1}: tab in indentation; YAML needs spaces")
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise BadInput(f"{label}:1: file is empty; a minimal config needs at least `project:` and `owner:`")
    node = files.compose_yaml(text, label, "fix the YAML", "YAML syntax error")
    if not isinstance(node, yaml.MappingNode):
        mark = _mark(label, node)
        raise BadInput(f"{mark}: the top level must be a mapping of keys (project:, owner:, ...), found {_kind(node)}")
    builder = files.YamlBuilder(label, "fix the YAML")
    data = builder.build(node, ())
    return Document(data, builder.marks, label)


def _mark(label: str, node: yaml.Node) -> Mark:
    return Mark(label, node.start_mark.line + 1, node.start_mark.column + 1)


def _kind(node: yaml.Node | None) -> str:
    return {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}.get(type(node), "a scalar")
