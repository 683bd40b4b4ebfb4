"""The one bounded reader for every YAML and JSON file mlgitops reads (config, deploy state, suites, plans, evidence).

Files arrive in pull requests, so none of them is trusted: a FIFO must not block, `/dev/zero` must not be read
to exhaustion, nine levels of "billion laughs" anchors must not expand, and a bad byte, a custom tag or 5000
nested brackets must end in one message naming `file:line` and the fix (`BadInput`, exit 2), never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops.errors import BadInput

MAX_YAML_BYTES = 1024 * 1024
MAX_JSON_BYTES = 8 * 1024 * 1024  # a plan of thousands of resources is well under; 8 MiB of `{}` stays < 250 MB parsed
MAX_NODES = 100_000  # YAML values built after alias expansion; a "billion laughs" file hits this at once
MAX_DEPTH = 64  # nesting of YAML and JSON values; real files stay under 15

_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str", "timestamp")}
_MAP_TAG, _SEQ_TAG = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    """Where a value came from: `file:line:column`, 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def _require_regular(st: os.stat_result, label: str, fix: str) -> None:
    kind = _kind(st.st_mode)
    if kind:
        raise BadInput(f"{label}: is {kind}, not a regular file; {fix}")


def _too_big(label: str, size: int | str, max_bytes: int, fix: str) -> BadInput:
    return BadInput(f"{label}:1: file is {size} bytes; the limit is {max_bytes}; {fix}")


def read_bytes(path: Path | str, *, fix: str, max_bytes: int = MAX_YAML_BYTES, label: str | None = None) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, checked with stat before it is opened (a FIFO would
    block, a device never ends) and with fstat after (it may have been swapped in between); never reads more
    than `max_bytes + 1` bytes."""
    label = label or str(path)
    try:
        st = os.stat(path)  # follows symlinks: a link to /dev/zero is a character device
    except (FileNotFoundError, NotADirectoryError):
        raise BadInput(f"{label}: not found; {fix}") from None
    except OSError as exc:
        raise BadInput(f"{label}: cannot read ({exc.strerror}); {fix}") from None
    _require_regular(st, label, fix)
    if st.st_size > max_bytes:
        raise _too_big(label, st.st_size, max_bytes, fix)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise BadInput(f"{label}: cannot read ({exc.strerror}); {fix}") from None
    try:
        _require_regular(os.fstat(fd), label, fix)
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise BadInput(f"{label}: cannot read ({exc.strerror}); {fix}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise _too_big(label, f"more than {max_bytes}", max_bytes, fix)
    return data


def decode(raw: bytes, label: str, fix: str = "save the file as UTF-8") -> str:
    """Strict UTF-8 (a leading BOM dropped); a bad byte is reported with its line and column."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise BadInput(
            f"{label}:{line}:{column}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8 ({fix})"
        ) from None
    return text.removeprefix("\ufeff")


def read_text(path: Path | str, *, fix: str, max_bytes: int = MAX_YAML_BYTES, label: str | None = None) -> str:
    """A bounded, regular, strict UTF-8 text file (see `read_bytes`, `decode`)."""
    label = label or str(path)
    return decode(read_bytes(path, fix=fix, max_bytes=max_bytes, label=label), label, fix)


# --- JSON ---------------------------------------------------------------------------------------


def load_json(path: Path | str, *, fix: str, max_bytes: int = MAX_JSON_BYTES, label: str | None = None) -> Any:
    """A JSON document as plain data; every problem (size, type, encoding, syntax, depth) is BadInput."""
    label = label or str(path)
    return parse_json(read_text(path, fix=fix, max_bytes=max_bytes, label=label), label, fix)


def parse_json(text: str, label: str, fix: str) -> Any:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{label}:{exc.lineno}:{exc.colno}: invalid JSON ({exc.msg}); {fix}") from None
    except RecursionError:
        raise _too_deep(label, _deep_line(text), fix) from None
    if _depth_exceeds(data, MAX_DEPTH):
        raise _too_deep(label, _deep_line(text), fix)
    return data


def _too_deep(label: str, line: int, fix: str) -> BadInput:
    return BadInput(f"{label}:{line}: nested more than {MAX_DEPTH} levels deep; {fix}")


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Iteratively, so a deep document cannot exhaust the stack here."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= limit:
                return True
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return False


def _deep_line(text: str) -> int:
    """The line where JSON nesting first passes MAX_DEPTH (strings skipped); 1 if it never does."""
    depth = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, m.start()) + 1
        elif token in "]}":
            depth -= 1
    return 1


# --- YAML ---------------------------------------------------------------------------------------


def load_yaml(path: Path | str, *, fix: str, max_bytes: int = MAX_YAML_BYTES, label: str | None = None) -> Any:
    """A YAML document as plain data (dicts, lists, str, int, float, bool, None, datetime); None when empty."""
    label = label or str(path)
    node = compose_yaml(read_text(path, fix=fix, max_bytes=max_bytes, label=label), label, fix)
    return None if node is None else YamlBuilder(label, fix).build(node, ())


def compose_yaml(text: str, label: str, fix: str, problem: str = "invalid YAML") -> Any:
    """The node graph of one YAML document (marks kept; aliases shared, not expanded), depth-bounded."""
    import yaml

    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise BadInput(f"{label}:{line}:{nul - text.rfind(chr(10), 0, nul)}: NUL byte; remove it ({fix})")
    try:
        loader = _bounded_loader()(text)
        loader.name = label  # marks name the file
    except yaml.YAMLError as exc:  # the reader refuses other non-printable characters
        raise _yaml_error(exc, label, fix, problem) from None
    try:
        return loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, label, fix, problem) from None
    except RecursionError:
        raise BadInput(f"{label}: nested too deeply; {fix}") from None
    finally:
        loader.dispose()


def _yaml_error(exc: Exception, label: str, fix: str, what: str) -> BadInput:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
    if mark is None and getattr(exc, "position", None) is not None:  # yaml.reader.ReaderError
        where = f"{label}:{exc.position}"  # type: ignore[attr-defined]
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc).splitlines()[0]
    return BadInput(f"{where}: {what}: {problem}; {fix}")


_LOADER: Any = None


def _bounded_loader() -> Any:
    """SafeLoader whose composer refuses nesting past MAX_DEPTH at the offending line, before Python's stack runs out."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class BoundedLoader(yaml.SafeLoader):
            _depth = 0

            def compose_node(self, parent: Any, index: Any) -> Any:
                self._depth += 1
                try:
                    if self._depth > MAX_DEPTH:
                        mark = self.peek_event().start_mark
                        raise BadInput(
                            f"{self.name}:{mark.line + 1}:{mark.column + 1}: nested more than {MAX_DEPTH} levels deep; flatten it"
                        )
                    return super().compose_node(parent, index)
                finally:
                    self._depth -= 1

        _LOADER = BoundedLoader
    return _LOADER


class YamlBuilder:
    """Plain Python from a node graph, with alias expansion bounded (MAX_NODES, MAX_DEPTH), only plain tags,
    no duplicate keys, and the position of every key path kept in `marks` for error messages."""

    def __init__(self, label: str, fix: str) -> None:
        import yaml

        self.label = label
        self.fix = fix
        self.constructor = yaml.SafeLoader("")
        self.marks: dict[Path_, Mark] = {}
        self.count = 0

    def mark(self, node: Any) -> Mark:
        return Mark(self.label, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: Any, path: Path_, depth: int = 0) -> Any:
        import yaml

        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise BadInput(
                f"{self.mark(node)}: YAML expands to more than {MAX_NODES} values or {MAX_DEPTH} levels "
                "(aliases/anchors used recursively?); write the values out instead"
            )
        self.marks.setdefault(path, self.mark(node))
        if isinstance(node, yaml.MappingNode):
            self._tag(node, _MAP_TAG)
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            self._tag(node, _SEQ_TAG)
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def _tag(self, node: Any, expected: str) -> None:
        if node.tag != expected:
            raise BadInput(
                f"{self.mark(node)}: tag '{node.tag}' is not allowed; use plain YAML (mappings, lists, strings, numbers, "
                f"booleans, null) and remove the tag ({self.fix})"
            )

    def scalar(self, node: Any) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise BadInput(
                f"{self.mark(node)}: tag '{node.tag}' is not allowed; use a plain value and remove the tag ({self.fix})"
            )
        try:
            return self.constructor.construct_object(node)
        except Exception:  # noqa: BLE001 - `!!int abc` is ValueError, `!!timestamp x` AttributeError, huge ints ValueError
            kind = node.tag.rsplit(":", 1)[-1]
            raise BadInput(
                f"{self.mark(node)}: '{node.value[:40]}' is not a valid {kind}; fix the value or remove the tag ({self.fix})"
            ) from None

    def _mapping(self, node: Any, path: Path_, depth: int) -> dict[str, Any]:
        import yaml

        result: dict[str, Any] = {}
        own: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                for source in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                    merged = self.build(source, path, depth + 1)
                    if not isinstance(merged, dict):
                        raise BadInput(f"{self.mark(source)}: `<<` merges mappings only")
                    for k, v in merged.items():
                        if k not in own:
                            result[k] = v
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise BadInput(
                    f"{self.mark(key_node)}: keys must be plain strings, found a {'list' if isinstance(key_node, yaml.SequenceNode) else 'mapping'}"
                )
            key = self.scalar(key_node)
            if not isinstance(key, (str, int, float)) or isinstance(key, bool):
                raise BadInput(f"{self.mark(key_node)}: keys must be plain strings, found {key!r}")
            key = str(key)
            if key in own:
                first = self.marks[(*path, key)]
                raise BadInput(
                    f"{self.mark(key_node)}: duplicate key '{key}' (first defined at line {first.line}); keep one"
                )
            own.add(key)
            self.marks[(*path, key)] = self.mark(key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result


@contextlib.contextmanager
def redirected(file: Any, fds: tuple[int, ...] = (1, 2)) -> Iterator[None]:
    """Point these file descriptors at `file` for the duration: what C libraries and subprocesses write too, which
    replacing `sys.stdout` would miss."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in fds]
    for fd in fds:
        os.dup2(file.fileno(), fd)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in zip(fds, saved, strict=False):
            os.dup2(copy, fd)
            os.close(copy)
