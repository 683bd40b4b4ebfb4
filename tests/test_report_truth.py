"""The report tells what is true when it is rendered: what each environment serves now, and data gate rows that
agree with the console (a warning is not a failure) and show what GX observed."""

from __future__ import annotations

from pipeline_helpers import MODEL, _no_run_id, cli, copy_project, green, serve_from_bucket  # noqa: F401

from mlgitops.report.markdown import expectations_table


def test_a_report_rendered_after_a_promotion_shows_it(green, tmp_path, moto_s3):
    root = copy_project(green, tmp_path / "p", store=True)
    before = cli("--project", str(root), "report")
    assert before.returncode == 0, before.stderr
    assert "Serving now" not in before.stdout
    assert f"no endpoint for {MODEL} in staging: nothing promoted yet" in before.stdout

    entry = serve_from_bucket(root, "staging")
    after = cli("--project", str(root), "report")

    assert after.returncode == 0, after.stderr
    assert f"### Serving now\n\n- `{MODEL}` v{entry.version} serves `staging` (deploy/staging.yaml)" in after.stdout
    assert (
        f"no endpoint for {MODEL} in staging: nothing promoted yet" not in after.stdout
    )  # the PR-time plan's note is stale


def test_a_warning_that_did_not_hold_is_not_a_failure_and_shows_the_observed_row_count():
    row_count = {
        "expectation": "expect_table_row_count_to_be_between",
        "column": None,
        "severity": "warning",
        "success": False,
        "observed_value": 90,
        "unexpected_count": None,
        "unexpected_percent": None,
        "partial_unexpected_list": [],
    }
    not_null = {
        "expectation": "expect_column_values_to_not_be_null",
        "column": "island",
        "severity": "critical",
        "success": False,
        "observed_value": None,
        "unexpected_count": 4,
        "unexpected_percent": 4.4,
        "partial_unexpected_list": [],
    }
    text = expectations_table([row_count, not_null])

    assert "| ⚠️ `expect_table_row_count_to_be_between` |  | warning | 90 | — |  |" in text
    assert "| ❌ `expect_column_values_to_not_be_null` | island | critical | 4 | 4.4000 |  |" in text
