"""`mlgitops.cli.show`, the one way a command prints its result: with --json one JSON document alone on stdout,
credentials masked; without, the text on stdout and the notes on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlgitops.cli import show
from mlgitops.config import Checked, render_text


class _Written:
    """A result holding what a real one may hold: a path, and a URI with credentials."""

    def to_dict(self) -> dict[str, Any]:
        return {"tracking": "https://user:secret@mlflow.example/x", "written": Path("/tmp/plan.json")}


def test_json_is_the_result_document_alone_with_credentials_masked(capsys: Any) -> None:
    show(_Written(), True, lambda r: "text\n", lambda r: ["a note"])
    out, err = capsys.readouterr()
    assert json.loads(out) == {"tracking": "https://***@mlflow.example/x", "written": "/tmp/plan.json"}
    assert err == ""  # notes are for people: --json readers parse stdout and may show stderr


def test_text_goes_to_stdout_and_notes_to_stderr(capsys: Any) -> None:
    show(Checked(["local", "staging"]), False, render_text, lambda r: [f"checked {len(r)} environments"])
    out, err = capsys.readouterr()
    assert out == "mlgitops.yaml is valid (local, staging)\n"
    assert err == "checked 2 environments\n"


def test_json_of_a_list_result_is_its_document_not_the_list(capsys: Any) -> None:
    show(Checked(["local"]), True, render_text)
    assert json.loads(capsys.readouterr().out) == {"valid": True, "environments": ["local"]}
