"""The bounded reader (`mlgitops.files`), URI masking (`mlgitops.secrets`) and run ids (`mlgitops.confine`), in process."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from mlgitops import files
from mlgitops.confine import outside, run_id
from mlgitops.errors import BadInput
from mlgitops.secrets import mask_secrets, mask_uri

FIX = "restore it"


def test_plain_yaml_keeps_its_types_merges_and_timestamps(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        "\ufeffbase: &b {a: 1, b: [x, 2.5, true, null]}\nother:\n  <<: *b\n  a: 2\nwhen: 2026-11-22T19:00:00Z\nq: '3'\n"
    )
    data = files.load_yaml(p, fix=FIX)
    assert data["other"] == {"a": 2, "b": ["x", 2.5, True, None]} and data["q"] == "3"
    assert data["when"] == dt.datetime(2026, 11, 22, 19, 0, tzinfo=dt.UTC)
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    assert files.load_yaml(tmp_path / "empty.yaml", fix=FIX) is None


def test_depth_limits_are_exact(tmp_path: Path) -> None:
    ok, deep = tmp_path / "ok.json", tmp_path / "deep.json"
    ok.write_text("[" * files.MAX_DEPTH + "]" * files.MAX_DEPTH)
    deep.write_text('{"a": "[[[[",\n "b": ' + "[" * (files.MAX_DEPTH + 1) + "]" * (files.MAX_DEPTH + 1) + "}")
    assert files.load_json(ok, fix=FIX) is not None
    with pytest.raises(BadInput, match=r"deep.json:2: nested more than 64 levels deep; restore it"):
        files.load_json(deep, fix=FIX)  # brackets inside strings do not count


def test_bad_byte_is_named_by_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_bytes('{\n  "é": "a\xff"}'.encode("latin-1").replace(b"\xe9", "é".encode()))
    with pytest.raises(BadInput, match=r"x.json:2:10: not valid UTF-8 \(byte 0xff\)"):
        files.load_json(p, fix=FIX)


def test_size_is_checked_before_reading_and_bounded_while_reading(tmp_path: Path) -> None:
    p = tmp_path / "big.json"
    p.write_bytes(b" " * 2000)
    with pytest.raises(BadInput, match=r"big.json:1: file is 2000 bytes; the limit is 1000; restore it"):
        files.read_bytes(p, fix=FIX, max_bytes=1000)
    assert files.read_bytes(p, fix=FIX, max_bytes=2000) == b" " * 2000


@pytest.mark.parametrize("kind", ["fifo", "dir", "devzero", "devnull"])
def test_only_regular_files_are_opened(tmp_path: Path, kind: str) -> None:
    p = tmp_path / "f.yaml"
    {
        "fifo": lambda: os.mkfifo(p),
        "dir": p.mkdir,
        "devzero": lambda: p.symlink_to("/dev/zero"),
        "devnull": lambda: p.symlink_to("/dev/null"),
    }[kind]()
    with pytest.raises(BadInput, match=r"f.yaml: is a .*, not a regular file; restore it"):
        files.read_text(p, fix=FIX)


def test_mask_uri_hides_userinfo_everywhere() -> None:
    assert mask_uri("https://bob:pw@host:5000/x") == "https://***@host:5000/x"
    assert mask_uri("see postgresql://u@db/x and s3://b/k") == "see postgresql://***@db/x and s3://b/k"
    assert mask_uri("sqlite:///.mlgitops/mlflow.db") == "sqlite:///.mlgitops/mlflow.db"
    assert mask_uri("mail ml@example.com") == "mail ml@example.com"
    assert mask_secrets({"a": ["https://t:x@h"], "n": 1}) == {"a": ["https://***@h"], "n": 1}


@pytest.mark.parametrize("value", ["../x", "a/b", "..", ".", "", "-x", "a\x00b", "x" * 129])
def test_run_id_is_one_safe_folder_name(value: str) -> None:
    with pytest.raises(BadInput, match="a run id must be one folder name"):
        run_id(value)


def test_run_ids_in_use_stay_valid() -> None:
    for value in ("local", "base", "12345-1", "pr-7.2", "a_b"):
        assert run_id(value) == value


def test_confinement_allows_project_paths_and_s3(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.csv").write_text("a\n")
    (tmp_path / "data" / "out.csv").symlink_to("/etc/hostname")
    assert outside(tmp_path, "data/in.csv") is None and outside(tmp_path, "s3://b/k.csv") is None
    assert outside(tmp_path, "data/../data/in.csv") is None
    assert "outside the project" in (outside(tmp_path, "data/out.csv") or "")
    assert "outside the project" in (outside(tmp_path, "/etc/passwd") or "")


def test_json_output_and_error_messages_mask_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    from mlgitops.cli import emit_json, err

    emit_json({"tracking_uri": "https://bob:hunter2@mlflow.example.com", "nested": [{"u": "postgresql://u:p@db/x"}]})
    err("cannot reach https://bob:hunter2@mlflow.example.com/api")
    out, error = capsys.readouterr()
    assert "hunter2" not in out + error and "u:p@" not in out
    assert '"tracking_uri": "https://***@mlflow.example.com"' in out and "https://***@mlflow.example.com/api" in error
