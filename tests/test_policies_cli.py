"""`mlgitops policy check|list` and the promotion rules over evidence files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.infra_helpers import copy_example
from tests.policies_helpers import model_digest, write_evidence, write_program

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"  # the OASIS SARIF 2.1.0 JSON schema, unmodified


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(cwd), *args], capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def churn(tmp_path_factory) -> Path:
    return copy_example(tmp_path_factory.mktemp("pcli") / "churn")


def promotion_findings(root: Path, env: str, run: Path | None):
    from mlgitops.config import load
    from mlgitops.evidence import Run
    from mlgitops.policies.engine import check

    return check(load(root, env), None, Run(run) if run else None).findings


def test_list_prints_every_rule(churn):
    proc = run_cli("policy", "list", "--json", cwd=churn)
    assert proc.returncode == 0, proc.stderr
    rules = json.loads(proc.stdout)
    assert len([r for r in rules if r["kind"] != "promotion"]) >= 45
    assert {"promotion-data-gate", "promotion-staging-first", "s3-tls-only"} <= {r["name"] for r in rules}


def test_insecure_program_fails_prod_with_sarif_and_findings_file(churn, tmp_path):
    import jsonschema

    prog = write_program(tmp_path / "prog")
    sarif = tmp_path / "out.sarif"
    proc = run_cli(
        "policy", "check", "--env", "prod", "--program", str(prog), "--sarif", str(sarif), "--json", cwd=churn
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["summary"]["mandatory"] > 0 and doc["passed"] is False
    assert {
        "s3-public-access-block",
        "iam-no-full-admin",
        "ecr-immutable-tags",
        "kms-rotation",
        "sagemaker-endpoint-kms",
    } <= {f["policy"] for f in doc["findings"] if f["enforcement"] == "mandatory"}
    assert set(doc["findings"][0]) >= {"policy", "severity", "enforcement", "resource_urn", "resource_type", "message"}
    saved = json.loads((churn / ".mlgitops" / "evidence" / "local" / "findings" / "prod.json").read_text())
    assert saved["summary"] == doc["summary"]
    log = json.loads(sarif.read_text())
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {f["policy"] for f in doc["findings"]}
    broken = {**log, "version": "2.0.0"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA.read_text()))


def test_same_program_in_advisory_staging_passes_with_a_table(churn, tmp_path):
    proc = run_cli("policy", "check", "--env", "staging", "--program", str(write_program(tmp_path / "prog")), cwd=churn)
    assert proc.returncode == 0, proc.stderr
    assert "advisory" in proc.stdout and "estimated cost: $" in proc.stdout and "passed" in proc.stdout


def test_project_stack_passes_and_bad_input_is_exit_2(churn, tmp_path):
    proc = run_cli("policy", "check", "--env", "prod", cwd=churn)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = run_cli("policy", "check", "--env", "prod", "--evidence", str(tmp_path / "nope"), cwd=churn)
    assert bad.returncode == 2 and "no such evidence folder" in bad.stderr and "Traceback" not in bad.stderr
    both = run_cli("policy", "check", "--plan", "x.json", "--program", "y", cwd=churn)
    assert both.returncode == 2 and "alternatives" in both.stderr


def test_expired_exemption_blocks_prod(tmp_path):
    root = copy_example(tmp_path / "churn")
    cfg = yaml.safe_load((root / "mlgitops.yaml").read_text())
    cfg["environments"]["prod"]["policies"]["exemptions"] = [
        {"rule": "kms-rotation", "resource": "*", "reason": "legacy key", "expires": "2020-01-01"}
    ]
    (root / "mlgitops.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_cli("policy", "check", "--env", "prod", "--json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    found = {(f["policy"], f["enforcement"]) for f in json.loads(proc.stdout)["findings"]}
    assert found == {
        ("policy-exemption-expired", "mandatory"),
        ("s3-bucket-name-suffix", "advisory"),
    }  # the example has no suffix


def test_promotion_rules_pass_on_good_evidence_and_name_each_failure(churn, tmp_path):
    good = write_evidence(tmp_path / "good")
    assert promotion_findings(churn, "staging", good) == []
    cases = {
        "promotion-data-gate": dict(data_ok=False),
        "promotion-evaluation": dict(verdict="fail"),
        "promotion-model-signature": dict(signature=False),
        "promotion-clean-git": dict(dirty=True),
    }
    for rule, kw in cases.items():
        found = promotion_findings(churn, "staging", write_evidence(tmp_path / rule, **kw))
        assert rule in {f.policy for f in found}, (rule, found)
    mismatch = promotion_findings(churn, "staging", write_evidence(tmp_path / "digest", digest_match=False))
    assert any(f.policy == "promotion-data-gate" and "digest" in f.message for f in mismatch)


def test_prod_needs_the_version_in_staging_first(tmp_path):
    root = copy_example(tmp_path / "churn")
    run = write_evidence(tmp_path / "run", version="3")
    assert "promotion-staging-first" in {f.policy for f in promotion_findings(root, "prod", run)}
    (root / "deploy").mkdir(exist_ok=True)
    (root / "deploy" / "staging.yaml").write_text(
        yaml.safe_dump(
            {
                "env": "staging",
                "models": {
                    "churn-classifier": {
                        "digest": model_digest("3"),
                        "artifact_uri": f"s3://churn-staging-models/churn-classifier/{model_digest('3')[7:]}/model.tar.gz",
                        "version": "3",
                        "registry_name": "churn-churn-classifier",
                        "model_uri": "models:/churn-churn-classifier/3",
                    }
                },
            }
        )
    )
    assert "promotion-staging-first" not in {f.policy for f in promotion_findings(root, "prod", run)}


def test_promotion_rules_are_enforced_in_every_environment_and_read_the_evaluation_verdict(churn, tmp_path):
    failed = promotion_findings(churn, "staging", write_evidence(tmp_path / "fail", verdict="fail"))
    [f] = [f for f in failed if f.policy == "promotion-evaluation"]
    assert (
        f.enforcement == "mandatory" and f.blocks and "did not pass evaluation (threshold roc_auc min 0.95" in f.message
    )
    proc = run_cli("policy", "check", "--env", "staging", "--evidence", str(tmp_path / "fail"), "--json", cwd=churn)
    assert proc.returncode == 1, proc.stderr  # staging's infrastructure rules are advisory; promotion rules are not
    advisory = {
        f.policy: f.enforcement
        for f in promotion_findings(churn, "staging", write_evidence(tmp_path / "dirty", dirty=True))
    }
    assert advisory == {"promotion-clean-git": "advisory"}


def test_policy_check_rule_needs_a_clean_check_where_policies_are_mandatory(churn, tmp_path):
    from mlgitops.evidence import Finding, Findings, Run

    run = write_evidence(tmp_path / "run")
    assert "promotion-policy-check" not in {f.policy for f in promotion_findings(churn, "staging", run)}  # advisory env
    prod = {f.policy: f.message for f in promotion_findings(churn, "prod", run)}
    assert "policies are mandatory in prod" in prod["promotion-policy-check"]
    Run(run).write(
        Findings(
            env="prod", findings=[Finding(policy="s3-tls-only", severity="high", enforcement="mandatory", message="x")]
        )
    )
    assert (
        "1 mandatory policy finding"
        in {f.policy: f.message for f in promotion_findings(churn, "prod", run)}["promotion-policy-check"]
    )
    Run(run).write(Findings(env="prod"))
    assert "promotion-policy-check" not in {f.policy for f in promotion_findings(churn, "prod", run)}


def test_missing_evidence_is_a_finding_and_broken_evidence_is_bad_input(churn, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    found = promotion_findings(churn, "staging", empty)
    assert {"promotion-data-gate", "promotion-evaluation", "promotion-model-signature"} <= {f.policy for f in found}
    for name, text in (
        ("corrupt", "{not json"),
        ("list", "[1, 2]"),
        ("foreign", '{"kind": "Plan", "stack": "x", "project": "y"}'),
        ("too-new", '{"kind": "TrainingRecord", "schema_version": 99}'),
    ):
        run = write_evidence(tmp_path / name)
        (run / "training" / "churn-classifier.json").write_text(text)
        before = sorted(p.relative_to(churn) for p in churn.rglob("*"))
        proc = run_cli("policy", "check", "--env", "staging", "--evidence", str(run), cwd=churn)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (name, proc.stderr)
        assert "churn-classifier.json" in proc.stderr, (name, proc.stderr)
        assert sorted(p.relative_to(churn) for p in churn.rglob("*")) == before, name  # nothing written


def test_prod_without_a_staging_environment_needs_no_staging_promotion(tmp_path):
    root = copy_example(tmp_path / "churn")
    config = yaml.safe_load((root / "mlgitops.yaml").read_text())
    del config["environments"]["staging"]
    (root / "mlgitops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run = write_evidence(tmp_path / "run", version="3")
    assert "promotion-staging-first" not in {f.policy for f in promotion_findings(root, "prod", run)}
