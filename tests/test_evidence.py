"""The typed evidence package: one model per record, one owner of the run folder's layout, one set of read errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from pipeline_helpers import MODEL, _no_run_id, cli, green  # noqa: F401

from mlgitops.errors import BadInput
from mlgitops.evidence import RECORDS, DeployState, Evaluation, Findings, Run, Scored, Verdict
from mlgitops.evidence.schema import json_schema, render
from mlgitops.evidence.state import read

SCHEMA = Path(__file__).parents[1] / "docs" / "evidence.schema.json"


def validator(kind: str):
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]})


def test_schema_file_is_current_and_has_one_definition_per_kind():
    assert SCHEMA.read_text() == render(), "run: python scripts/gen_evidence_schema.py"
    defs = json_schema()["$defs"]
    assert all(r.__name__ in defs and defs[r.__name__]["properties"]["kind"]["const"] == r.__name__ for r in RECORDS)


def test_every_file_the_pipeline_writes_is_a_record_that_validates(green):
    files = sorted(green.run.rglob("*.json"))
    assert len(files) >= 12
    for path in files:
        doc = json.loads(path.read_text())
        assert doc.get("kind") and doc.get("schema_version") == 1, path
        errors = list(validator(doc["kind"]).iter_errors(doc))
        assert not errors, (path, errors[:3])


def test_run_files_each_record_under_its_name(tmp_path):
    run = Run(tmp_path / "r")
    ev = Evaluation(
        model="m", primary="roc_auc", candidate=Scored(version="2", metrics={"roc_auc": 0.9}), verdict=Verdict.PASS
    )
    assert run.write(ev) == tmp_path / "r" / "evaluation" / "m.json"
    run.write(Findings(env="staging"))
    assert run.evaluation("m") == ev and run.findings("staging") == Findings(env="staging")
    assert run.evaluation("other") is None and run.names(Evaluation) == ["m"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("{oops", r"m.json:1:2: invalid JSON"),
        ("[1, 2]", "not a valid Evaluation: expected a JSON object, found list"),
        ('{"kind": "Plan", "stack": "s", "project": "p"}', "holds a record of kind 'Plan' where a Evaluation belongs"),
        ('{"kind": "Evaluation", "schema_version": 7}', "schema_version 7 is newer than this mlgitops reads"),
        ('{"kind": "Evaluation", "model": "m"}', "not a valid Evaluation: primary: Field required"),
        (b"\xff\xfe", "not valid UTF-8"),
    ],
)
def test_a_record_that_is_there_but_wrong_is_bad_input_naming_the_file(tmp_path, text, message):
    path = tmp_path / "evaluation" / "m.json"
    path.parent.mkdir()
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(BadInput, match=message) as info:
        Run(tmp_path).evaluation("m")
    assert str(path) in str(info.value)


def test_deploy_state_written_before_kind_existed_is_still_read(tmp_path):
    (tmp_path / "deploy").mkdir()
    legacy = {
        "env": "staging",
        "models": {
            "m": {
                "digest": "sha256:" + "a" * 64,
                "artifact_uri": "s3://b/m/a/model.tar.gz",
                "version": 3,
                "registry_name": "p-m",
                "model_uri": "models:/p-m/3",
                "replaces": None,
                "evidence": {"action": "promote", "metrics": {"roc_auc": 0.9}},
            }
        },
    }
    (tmp_path / "deploy" / "staging.yaml").write_text(yaml.safe_dump(legacy))
    state = read(tmp_path, "staging")
    assert (
        state.kind == "DeployState"
        and state.models["m"].version == "3"
        and state.models["m"].evidence.metrics == {"roc_auc": 0.9}
    )
    (tmp_path / "deploy" / "prod.yaml").write_text(yaml.safe_dump({"kind": "Findings", "env": "prod"}))
    with pytest.raises(BadInput, match="prod.yaml: holds a record of kind 'Findings'"):
        read(tmp_path, "prod")
    assert read(tmp_path, "dev") == DeployState(env="dev")


@pytest.mark.parametrize("run_id", ["../../x", "a/b", "..", ""])
def test_a_run_id_is_one_folder_name(tmp_path, monkeypatch, run_id):
    monkeypatch.setenv("MLGITOPS_RUN_ID", run_id)
    if run_id:
        with pytest.raises(BadInput, match="a run id must be one folder name"):
            Run.current(tmp_path)
    else:
        assert Run.current(tmp_path).name == "local"


@pytest.mark.parametrize(
    "command", [["promote", "--env", "staging"], ["report"], ["policy", "check", "--env", "staging", "--plan", "PLAN"]]
)
def test_corrupt_evidence_is_exit_2_without_traceback_for_every_reader(green, tmp_path, command):
    root = tmp_path / "p"
    shutil.copytree(green.root, root)
    run = root / ".mlgitops" / "evidence" / "local"
    (run / "evaluation" / f"{MODEL}.json").write_text('{"kind": "Evaluation", "model": [1, 2]}')
    args = [a.replace("PLAN", str(run / "plan" / "staging.json")) for a in command]
    if command[0] == "policy":
        args += ["--evidence", str(run)]
    deploy_before = sorted((root / "deploy").glob("*")) if (root / "deploy").exists() else []
    proc = cli("--project", str(root), *args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and f"evaluation/{MODEL}.json: not a valid Evaluation" in proc.stderr
    assert (sorted((root / "deploy").glob("*")) if (root / "deploy").exists() else []) == deploy_before
