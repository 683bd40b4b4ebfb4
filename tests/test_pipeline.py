"""`mlgitops pipeline pr` on the template project: green, a data failure, a candidate that loses to the
champion, a policy violation in prod only, and bad input. Variants run on copies of the shared green project."""

from __future__ import annotations

import json
import shutil

from pipeline_helpers import MODEL, TRAIN_CSV, _no_run_id, cli, copy_project, edit, green, read_json, serve_from_bucket  # noqa: F401

from mlgitops.evidence import Plan
from mlgitops.pipeline import run_pr

STEPS = ["config", "data", "train", "evaluate", "plan", "policy", "report"]


def statuses(run) -> dict[str, str]:
    return {s.name: s.status for s in run.steps}


def test_green_path_writes_every_piece_of_evidence(green):
    s = green.summary
    assert (s["verdict"], s["exit_code"], s["env"]) == ("pass", 0, "staging")
    assert [(x["name"], x["status"]) for x in s["steps"]] == [(n, "ok") for n in STEPS]
    run = green.run
    for rel in [
        "data/train.json",
        "data/holdout.json",
        f"training/{MODEL}.json",
        f"evaluation/{MODEL}.json",
        f"evaluation/{MODEL}.png",
        "report.md",
        "report.json",
        "pipeline.json",
        *(f"{d}/{e}.json" for d in ("plan", "findings") for e in ("local", "staging", "prod")),
    ]:
        assert (run / rel).is_file(), rel
    assert read_json(run / "pipeline.json")["steps"] == s["steps"]
    assert read_json(run / f"evaluation/{MODEL}.json")["verdict"] == "pass"
    assert read_json(run / "plan/prod.changes.json")["against"] is None  # no base branch plans in this project
    # library chatter went to the run's log, not the terminal
    assert "Created version '1'" in (run / "logs" / "pipeline.log").read_text()
    assert "Created version" not in green.stderr and "mlflow" not in green.stderr


def test_data_failure_skips_training_and_still_reports(green, tmp_path):
    root = copy_project(green, tmp_path / "p")
    lines = (root / TRAIN_CSV).read_text().splitlines()
    cells = lines[3].split(",")
    cells[0] = ""  # mean_radius of one row: a critical not-null expectation fails
    lines[3] = ",".join(cells)
    (root / TRAIN_CSV).write_text("\n".join(lines) + "\n")

    run = run_pr(root)

    assert run.exit_code == 1
    # the promotion rules for staging say no too: they are enforced in every environment
    assert statuses(run) == {
        "config": "ok",
        "data": "failed",
        "train": "skipped",
        "evaluate": "skipped",
        "plan": "ok",
        "policy": "failed",
        "report": "ok",
    }
    assert "promotion-data-gate" in {f["policy"] for f in read_json(run.run_dir / "findings/staging.json")["findings"]}
    assert "data gate failed on train" in run.steps[2].summary
    data = read_json(run.run_dir / "data/train.json")
    assert [(f["expectation"], f["column"], f["unexpected_count"]) for f in data["failures"]] == [
        ("expect_column_values_to_not_be_null", "mean_radius", 1)
    ]
    report = run.report.read_text()
    assert "FAIL" in report.splitlines()[0]
    assert (
        "**Failed critical expectations in `train`**" in report
        and "`expect_column_values_to_not_be_null` | mean_radius" in report
    )
    assert (
        "| ⏭️ train | skipped |" in report and "### Infrastructure changes" in report and "### Policy findings" in report
    )
    assert not (run.run_dir / "training").exists()


def test_candidate_that_loses_to_the_champion_fails_evaluation(green, tmp_path, moto_s3):
    root = copy_project(green, tmp_path / "p", store=True)
    champion = serve_from_bucket(root, "staging")  # the green run's v1 now serves staging
    edit(
        root / "mlgitops.yaml", "params: {C: 1.0, max_iter: 1000}", "params: {C: 0.01, max_iter: 1000}"
    )  # weaker, above the thresholds

    run = run_pr(root)

    assert run.exit_code == 1
    assert statuses(run) == {**{n: "ok" for n in STEPS}, "evaluate": "failed", "policy": "failed"}
    ev = read_json(run.run_dir / f"evaluation/{MODEL}.json")
    assert ev["champion"]["version"] == champion.version and ev["candidate"]["version"] != champion.version
    assert ev["verdict"] == "fail" and ev["candidate"]["metrics"]["roc_auc"] < ev["champion"]["metrics"]["roc_auc"]
    assert [r for r in ev["reasons"] if "threshold" in r] == []  # it fails on the champion alone
    report = run.report.read_text()
    assert "failed evaluation: does not beat the champion by 0.0 on roc_auc" in report
    assert f"champion v{champion.version}" in report and "<details open><summary>❌ <code>classifier</code>" in report
    findings = read_json(run.run_dir / "findings/staging.json")["findings"]
    assert any(f["policy"] == "promotion-evaluation" and "does not beat the champion" in f["message"] for f in findings)


def test_policy_violation_in_prod_only_and_plan_diff_against_the_base_branch(green, tmp_path, moto_s3):
    root = copy_project(green, tmp_path / "p", store=True)
    serve_from_bucket(root, "staging")
    serve_from_bucket(root, "prod")  # prod now declares an endpoint for v1
    edit(
        root / "mlgitops.yaml",
        "serving: {min_instances: 2, max_instances: 4}",
        "serving: {min_instances: 1, max_instances: 4}",
    )
    base = root / ".mlgitops" / "evidence" / "base" / "plan"  # what the PR workflow leaves from the base branch
    base.mkdir(parents=True)
    shutil.copy(green.run / "plan" / "local.json", base / "local.json")
    plan = read_json(green.run / "plan" / "prod.json")
    bucket = next(r for r in plan["resources"] if r["type"] == "aws:s3/bucket:Bucket")
    bucket["inputs"]["tags"]["owner"] = "someone-else@example.com"
    Plan.model_validate(plan).save(base / "prod.json")

    run = run_pr(root)

    assert run.exit_code == 1
    assert statuses(run) == {**{n: "ok" for n in STEPS}, "policy": "failed"}
    rule = "sagemaker-variant-min-instances-prod"
    by_env = {env: read_json(run.run_dir / f"findings/{env}.json") for env in ("local", "staging", "prod")}
    assert [f["enforcement"] for f in by_env["prod"]["findings"] if f["policy"] == rule] == ["mandatory"]
    assert not by_env["prod"]["passed"] and by_env["staging"]["passed"] and by_env["local"]["passed"]
    assert all(f["policy"] != rule for env in ("local", "staging") for f in by_env[env]["findings"])
    report = run.report.read_text()
    assert "mandatory policy finding(s) in `prod`" in report and f"| `prod` | `{rule}` |" in report

    changes = read_json(run.run_dir / "plan/prod.changes.json")
    assert changes["against"] == ".mlgitops/evidence/base/plan/prod.json"
    changed = next(c for c in changes["changes"] if c["name"] == bucket["name"])
    assert (changed["action"], changed["paths"]) == ("update", ["tags.owner", "tagsAll.owner"][: len(changed["paths"])])
    assert any(c["action"] == "create" and c["type"] == "aws:sagemaker/endpoint:Endpoint" for c in changes["changes"])
    assert read_json(run.run_dir / "plan/local.changes.json")["changes"] == []  # same as the base branch
    assert read_json(run.run_dir / "plan/staging.changes.json")["against"] is None  # no base plan for staging
    creates = sum(c["action"] == "create" for c in changes["changes"])
    resources = len(read_json(run.run_dir / "plan/prod.json")["resources"])
    assert f"| `prod` | {resources} | {creates} | 1 | 0 | 0 | `.mlgitops/evidence/base/plan/prod.json` |" in report


def test_bad_input_stops_the_pipeline_and_the_report_says_why_and_what_did_not_run(green, tmp_path):
    root = copy_project(green, tmp_path / "p")
    edit(root / "mlgitops.yaml", "entry_point: green.train:train", "entry_point: green.nosuch:train")

    run = run_pr(root)

    assert run.exit_code == 2 and run.report is not None
    assert statuses(run) == {
        "config": "ok",
        "data": "ok",
        "train": "error",
        **{n: "not_run" for n in ("evaluate", "plan", "policy")},
        "report": "ok",
    }
    assert "module 'green.nosuch' not found" in run.steps[2].summary
    assert run.steps[3].summary == "not run: train had bad input"
    assert read_json(run.run_dir / "pipeline.json")["exit_code"] == 2
    report = run.report.read_text()
    assert "## ❌ mlgitops: FAIL" in report
    assert (
        "- step train error: mlgitops.yaml: models.classifier.entry_point 'green.nosuch:train': module 'green.nosuch' not found"
        in report
    )
    assert "- missing: steps not run: evaluate, plan, policy" in report


def test_bad_config_is_one_message_exit_2_and_the_run_still_records_it(green, tmp_path):
    root = copy_project(green, tmp_path / "p")
    edit(root / "mlgitops.yaml", "    holdout: holdout\n", "    holdout: holdout\n    hldout: x\n")

    line = (root / "mlgitops.yaml").read_text().splitlines().index("    hldout: x") + 1

    proc = cli("--project", str(root), "pipeline", "pr", "--json")

    assert proc.returncode == 2
    message = f"mlgitops.yaml:{line}:5: models.classifier.hldout: unknown key 'hldout'; did you mean 'holdout'?"
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout)
    assert [(s["name"], s["status"]) for s in summary["steps"]] == [
        ("config", "error"),
        *((n, "not_run") for n in ("data", "train", "evaluate", "plan", "policy")),
        ("report", "ok"),
    ]
    run = root / ".mlgitops" / "evidence" / "local"
    assert read_json(run / "pipeline.json")["steps"][0]["summary"] == message
    report = (run / "report.md").read_text()
    assert (
        f"- step config error: {message}" in report
        and "- missing: steps not run: data, train, evaluate, plan, policy" in report
    )


def test_a_training_failure_shows_its_exception_and_the_other_model_is_still_evaluated(green, tmp_path):
    root = copy_project(green, tmp_path / "p")
    (root / "src" / "green" / "broken.py").write_text(
        "def train(ctx):\n    raise ValueError('Input y contains NaN.')\n"
    )
    text = (root / "mlgitops.yaml").read_text()
    block = text[text.index("  classifier:\n") : text.index("    compute:")]
    edit(
        root / "mlgitops.yaml",
        "  classifier:\n",
        block.replace("classifier:", "broken:").replace("green.train:train", "green.broken:train") + "  classifier:\n",
    )

    proc = cli("--project", str(root), "pipeline", "pr")

    assert proc.returncode == 1, proc.stderr
    line = next(ln for ln in proc.stderr.splitlines() if ln.split()[1:2] == ["train"])
    assert "training 'broken' failed in green.broken:train: ValueError: Input y contains NaN." in line
    assert "classifier v1" in line  # the other model trained
    assert "Traceback" not in proc.stderr  # the traceback is in the log
    run = root / ".mlgitops" / "evidence" / "local"
    assert "Traceback" in (run / "logs" / "pipeline.log").read_text()
    assert read_json(run / f"evaluation/{MODEL}.json")["verdict"] == "pass"
    evaluate = next(s for s in read_json(run / "pipeline.json")["steps"] if s["name"] == "evaluate")
    assert evaluate["status"] == "ok" and "broken not evaluated (training failed)" in evaluate["summary"]
    report = (run / "report.md").read_text()
    assert (
        "- step train failed: training 'broken' failed in green.broken:train: ValueError: Input y contains NaN."
        in report
    )


def test_bad_input_in_one_models_evaluation_leaves_the_others_evaluated(green, tmp_path):
    import pandas as pd

    root = copy_project(green, tmp_path / "p")
    holdout = root / "data" / "breast_cancer" / "holdout.csv"
    pd.read_csv(holdout).drop(columns=["malignant"]).to_csv(root / "data" / "unlabelled.csv", index=False)
    assert (
        cli(
            "data",
            "init-suite",
            str(root / "data" / "unlabelled.csv"),
            "--out",
            str(root / "expectations" / "unlabelled.json"),
        ).returncode
        == 0
    )
    edit(
        root / "mlgitops.yaml",
        "models:\n",
        "  unlabelled: {path: data/unlabelled.csv, suite: expectations/unlabelled.json}\nmodels:\n",
    )
    text = (root / "mlgitops.yaml").read_text()
    block = text[text.index("  classifier:\n") : text.index("    compute:")]
    first = block.replace("classifier:", "unlabelled:").replace("holdout: holdout", "holdout: unlabelled")
    edit(root / "mlgitops.yaml", "  classifier:\n", first + "  classifier:\n")

    run = run_pr(root)

    assert run.exit_code == 2
    evaluate = next(s for s in run.steps if s.name == "evaluate")
    assert evaluate.status == "error"
    assert "models.unlabelled.target 'malignant' is not a column of dataset 'unlabelled'" in evaluate.summary
    assert f"{MODEL} v" in evaluate.summary and read_json(run.run_dir / f"evaluation/{MODEL}.json")["verdict"] == "pass"
    assert "- missing: steps not run: plan, policy" in run.report.read_text()
