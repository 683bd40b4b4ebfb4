"""Promotion gates that cannot be sidestepped: the two walk-arounds found by trying, replayed on the template project.

1. An evaluation made against one environment (local, which has no champion) does not promote into another.
2. Prod is promoted on the plan the promotion creates, never on a policy check made before a config change.
"""

from __future__ import annotations

import pytest
from pipeline_helpers import MODEL, _no_run_id, cli, copy_project, edit, green, read_json, serve_from_bucket  # noqa: F401

from mlgitops.pipeline import run_pr


@pytest.mark.slow
def test_an_evaluation_against_local_does_not_promote_to_staging(green, tmp_path, moto_s3):
    root = copy_project(green, tmp_path / "p", store=True)
    champion = serve_from_bucket(root, "staging")  # the green run's v1 serves staging
    edit(root / "mlgitops.yaml", "params: {C: 1.0, max_iter: 1000}", "params: {C: 0.01, max_iter: 1000}")  # weaker

    assert run_pr(root).exit_code == 1  # the PR's evaluation against staging's champion fails
    local = run_pr(root, env="local")  # local serves nothing: no champion to beat, so it passes
    evaluation = read_json(local.run_dir / f"evaluation/{MODEL}.json")
    assert evaluation["verdict"] == "pass" and evaluation["env"] == "local" and evaluation["against"] is None

    refused = cli("--project", str(root), "promote", "--env", "staging")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "promotion-evaluation: the evaluation was measured against local, not staging" in refused.stderr
    assert "mlgitops evaluate --env staging --model classifier" in refused.stderr
    assert deployed(root, "staging")["models"][MODEL]["version"] == champion.version  # nothing changed

    done = cli("--project", str(root), "promote", "--env", "local")  # what that evaluation was made for still goes
    assert done.returncode == 0, done.stderr
    assert deployed(root, "local")["models"][MODEL]["version"] == evaluation["candidate"]["version"]


def test_prod_is_checked_on_the_plan_the_promotion_creates(green, tmp_path, moto_s3):
    root = copy_project(green, tmp_path / "p", store=True)
    serve_from_bucket(root, "staging")
    assert (
        read_json(root / ".mlgitops/evidence/local/findings/prod.json")["passed"] is True
    )  # the pipeline's check, before

    edit(
        root / "mlgitops.yaml",
        "serving: {min_instances: 2, max_instances: 4}",
        "serving: {min_instances: 1, max_instances: 4}",
    )
    refused = cli("--project", str(root), "promote", "--env", "prod")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "promotion-policy-check: policy check of prod: 1 mandatory policy finding(s)" in refused.stderr
    assert not (root / "deploy" / "prod.yaml").exists()

    edit(
        root / "mlgitops.yaml",
        "serving: {min_instances: 1, max_instances: 4}",
        "serving: {min_instances: 2, max_instances: 4}",
    )
    done = cli("--project", str(root), "promote", "--env", "prod")
    assert done.returncode == 0, done.stderr
    entry = deployed(root, "prod")["models"][MODEL]
    assert entry["evidence"]["stage_from"] == "staging" and entry["evidence"]["policy_verdict"] == "pass"


def deployed(root, env: str) -> dict:
    import yaml

    return yaml.safe_load((root / "deploy" / f"{env}.yaml").read_text())
