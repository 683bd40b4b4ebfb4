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

from mlgitops.errors import BadInput

MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000  # values built after alias expansion; a "billion laughs" file hits this at once

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


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
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{label}: not found in {path.parent}; create it (`mlgitops new` scaffolds a project)") from None
    except OSError as exc:
        raise BadInput(f"{label}: cannot read: {exc.strerror}") from None
    return parse(raw, label)


def load_plain(path: Path, fix: str) -> Any:
    """Another YAML file (deploy state, Pulumi files): plain `safe_load`, its errors as BadInput with the line and `fix`."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not valid UTF-8; {fix}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise BadInput(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', exc)}; {fix}") from None


def parse(raw: bytes, label: str) -> Document:
    if len(raw) > MAX_BYTES:
        raise BadInput(f"{label}:1: file is {len(raw)} bytes; the limit is {MAX_BYTES} (1 MiB). Keep data out of the config.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BadInput(f"{label}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")
    for number, content in enumerate(text.splitlines(), 1):
        indent = content[: len(content) - len(content.lstrip(" \t"))]
        if "\t" in indent:
            raise BadInput(f"{label}:{number}:{indent.index(chr(9)) + 1}: tab in indentation; YAML needs spaces")
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise BadInput(f"{label}:1: file is empty; a minimal config needs at least `project:` and `owner:`")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
        raise BadInput(f"{where}: YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{label}: YAML error: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(node, yaml.MappingNode):
        mark = _mark(label, node)
        raise BadInput(f"{mark}: the top level must be a mapping of keys (project:, owner:, ...), found {_kind(node)}")
    builder = _Builder(label, yaml.SafeLoader(""))
    data = builder.build(node, ())
    return Document(data, builder.marks, label)


def _mark(label: str, node: yaml.Node) -> Mark:
    return Mark(label, node.start_mark.line + 1, node.start_mark.column + 1)


def _kind(node: yaml.Node | None) -> str:
    return {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}.get(type(node), "a scalar")


class _Builder:
    def __init__(self, label: str, constructor: yaml.SafeLoader) -> None:
        self.label = label
        self.constructor = constructor
        self.marks: dict[Path_, Mark] = {}
        self.count = 0

    def build(self, node: yaml.Node, path: Path_, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES or depth > 64:
            raise BadInput(
                f"{_mark(self.label, node)}: YAML expands to more than {MAX_NODES} values or 64 levels "
                "(aliases/anchors used recursively?); write the values out instead"
            )
        self.marks.setdefault(path, _mark(self.label, node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.constructor.construct_object(node)

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        own: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                for source in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                    merged = self.build(source, path, depth + 1)
                    if not isinstance(merged, dict):
                        raise BadInput(f"{_mark(self.label, source)}: `<<` merges mappings only")
                    for k, v in merged.items():
                        if k not in own:
                            result[k] = v
                continue
            key = self.constructor.construct_object(key_node)
            if not isinstance(key, (str, int, float, bool)) or isinstance(key, bool):
                raise BadInput(f"{_mark(self.label, key_node)}: keys must be plain strings, found {key!r}")
            key = str(key)
            if key in own:
                first = self.marks[(*path, key)]
                raise BadInput(f"{_mark(self.label, key_node)}: duplicate key '{key}' (first defined at line {first.line}); keep one")
            own.add(key)
            self.marks[(*path, key)] = _mark(self.label, key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result
