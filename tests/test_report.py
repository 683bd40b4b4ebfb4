"""`mlgitops report`: every section from the green run's evidence, JSON that renders the same markdown,
links that work from wherever the markdown is written, and readability with several models and environments."""

from __future__ import annotations

import copy
import json
import re

from pipeline_helpers import MODEL, _no_run_id, cli, green, read_json  # noqa: F401

from mlgitops.evidence import Plan, Report, Run
from mlgitops.report import build, render, verdict


def test_report_has_each_section(green):
    md = (green.run / "report.md").read_text()
    training = read_json(green.run / f"training/{MODEL}.json")
    assert md.startswith("## ✅ mlgitops: PASS · green · run `local` · candidate for `staging`")
    sections = [
        "### Data gate",
        "### Models: candidate vs champion",
        "### Infrastructure changes",
        "### Policy findings",
        "### Estimated monthly cost",
        "### MLflow runs",
    ]
    assert [s for s in sections if s in md] == sections
    assert sorted(sections, key=md.index) == sections
    assert "| ✅ `train` | data/breast_cancer/train.csv | 455 |" in md and "| ✅ `holdout` |" in md
    assert f"| ✅ `{MODEL}` | v{training['version']} | none | roc_auc |" in md
    assert f"![{MODEL}: candidate vs champion](evaluation/{MODEL}.png)" in md
    assert md.count("```mermaid") == 3 and md.count("every resource is new") >= 3
    assert "| `staging` | $0.00 | $300.00 | ✅ within budget |" in md and "| `prod` | $0.00 | $1,000.00 |" in md
    assert "| ✅ `prod` | mandatory | 0 |" in md  # policy table: enforcement per env from the prod overlay
    assert f"`{training['run_id']}`" in md and f"mlflow ui --backend-store-uri {training['tracking_uri']}" in md
    for block in re.findall(r"<details( open)?><summary>(.*?)</summary>", md):
        assert block[0] == "", f"a passing run opens no details: {block}"


def test_json_has_the_same_content_and_round_trips(green):
    doc = json.loads((green.run / "report.json").read_text())
    report = Report.model_validate(doc)
    assert render(report) == (green.run / "report.md").read_text()
    assert report.to_dict() == doc  # report.json -> Report -> report.json: nothing lost
    assert build(Run(green.run), green.root) == report  # rebuilt from the evidence: the same content
    assert doc["verdict"] == {"status": "pass", "reasons": [], "missing": []}


def test_report_command_writes_out_with_links_back_into_the_run(green, tmp_path):
    out = tmp_path / "pr" / "comment.md"
    proc = cli("--project", str(green.root), "report", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (green.run / "report.md").read_text()
    links = re.findall(r"!\[[^]]*\]\(([^)]+\.png)\)", out.read_text())
    assert links and all(
        (out.parent / link).resolve() == (green.run / f"evaluation/{MODEL}.png").resolve() for link in links
    )

    proc = cli("--project", str(green.root), "report", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout) == json.loads((green.run / "report.json").read_text())


def test_report_bad_input_is_exit_2(green, tmp_path):
    proc = cli("--project", str(green.root), "report", "--evidence", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "no such evidence folder" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("--project", str(green.root), "report", "--out", str(tmp_path))
    assert proc.returncode == 2 and "is a directory" in proc.stderr


def test_many_models_and_environments_stay_readable(green):
    """Four models and three environments: one summary row each; bulk collapsed, failures open."""
    doc = json.loads((green.run / "report.json").read_text())
    base = doc["models"][0]
    doc["models"] = []
    for i in range(4):
        m = copy.deepcopy(base)
        m["name"] = f"model-{i}"
        if i == 2:
            m["evaluation"]["verdict"] = "fail"
            m["evaluation"]["reasons"] = ["threshold roc_auc min 0.99: roc_auc=0.9818."]
        doc["models"].append(m)
    report = Report.model_validate(doc)
    report.verdict = verdict(report)
    doc, md = report.to_dict(), render(report)

    assert doc["verdict"]["status"] == "fail" and doc["verdict"]["reasons"] == [
        f"`model-2` v{base['evaluation']['candidate']['version']} failed evaluation: threshold roc_auc min 0.99: roc_auc=0.9818."
    ]
    summary = md.split("### Models: candidate vs champion")[1].split("<details")[0]
    assert [line.split("|")[1].strip() for line in summary.splitlines() if "`model-" in line] == [
        "✅ `model-0`",
        "✅ `model-1`",
        "❌ `model-2`",
        "✅ `model-3`",
    ]
    opened = re.findall(r"<details open><summary>(.*?)</summary>", md)
    assert opened == ["❌ <code>model-2</code>: metrics, rules and chart"]
    outside = re.sub(r"<details.*?</details>", "", md, flags=re.S)
    assert "```mermaid" not in outside and "expect_column_values_to_be_between" not in outside
    assert len(outside.splitlines()) < 80  # what a reviewer sees before expanding anything


def test_report_of_steps_run_one_by_one_diffs_against_the_base_plans(green, tmp_path):
    """The PR workflow runs each command on its own (no pipeline.json, no plan/<env>.changes.json) and leaves
    the base branch's plans in .mlgitops/evidence/base/plan: the report diffs against them itself."""
    import shutil

    root = tmp_path / "p"
    shutil.copytree(
        green.root,
        root,
        ignore=shutil.ignore_patterns("mlflow.db", "artifacts", "logs", "pipeline.json", "*.changes.json", "report.*"),
    )
    run, base = root / ".mlgitops" / "evidence" / "local", root / ".mlgitops" / "evidence" / "base" / "plan"
    plan = read_json(run / "plan" / "staging.json")
    removed = plan["resources"].pop()
    Plan.model_validate(plan).save(base / "staging.json")

    report = build(Run(run), root)
    doc = report.to_dict()

    assert doc["steps"] == [] and doc["target_env"] is None and doc["verdict"]["status"] == "pass"
    staging = next(e for e in doc["environments"] if e["env"] == "staging")
    assert staging["changes"]["against"] == ".mlgitops/evidence/base/plan/staging.json"
    assert staging["changes"]["items"] == [
        {"action": "create", "urn": removed["urn"], "type": removed["type"], "name": removed["name"], "paths": []}
    ]
    assert next(e for e in doc["environments"] if e["env"] == "prod")["changes"]["against"] is None
    md = render(report)
    assert "Pipeline steps" not in md and f"| create | `{removed['type']}` | {removed['name']} |  |" in md
