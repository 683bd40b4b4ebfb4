"""The report as one markdown document for a PR comment, rendered by jinja2 from `templates/report.md.j2` over the
Report record's JSON form (`mlgitops.report.content.build`): verdict first, one summary table per section, bulk
(every expectation, every finding, diagrams) in collapsed `<details>` so many models and environments stay
readable. The functions here are the template's filters: the rows of its tables.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgitops.evidence import Report

ICON = {
    "pass": "✅",
    "fail": "❌",
    "incomplete": "⚠️",
    "ok": "✅",
    "failed": "❌",
    "error": "⛔",
    "skipped": "⏭️",
    "not_run": "⏸️",
}
FINDING_GROUPS = (("advisory", "Advisory"), ("unchecked", "Cannot be checked before deploy"), ("exempted", "Exempted"))


def cell(value: Any) -> str:
    """A table cell: pipes escaped, newlines as <br>."""
    return str(value).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def table(head: list[str], rows: list[list[Any]]) -> str:
    """A markdown table, without the newline after its last row."""
    return "\n".join(
        [
            f"| {' | '.join(head)} |",
            f"|{'---|' * len(head)}",
            *(f"| {' | '.join(cell(c) for c in row)} |" for row in rows),
        ]
    )


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "—" if value is None else str(value)


def _usd(value: Any) -> str:
    return "—" if value is None else f"${float(value):,.2f}"


def _outcome(r: dict[str, Any]) -> str:
    """✅ met, ❌ a critical failure (blocks, as the console says FAIL), ⚠️ a warning or info that did not hold (reported only)."""
    return "✅" if r["success"] else "❌" if r["severity"] == "critical" else "⚠️"


def _observed(r: dict[str, Any]) -> str:
    """What GX measured: the unexpected count for per-row expectations, else the observed value (e.g. a row count)."""
    if r.get("unexpected_count") is not None:
        return _num(r.get("unexpected_count"))
    value = r.get("observed_value")
    return "—" if value is None else _num(value) if not isinstance(value, (list, dict)) else str(value)[:80]


def expectations_table(results: list[dict[str, Any]]) -> str:
    rows = [
        [
            f"{_outcome(r)} `{r['expectation']}`",
            r.get("column") or "",
            r["severity"],
            _observed(r),
            _num(r.get("unexpected_percent")),
            ", ".join(map(str, (r.get("partial_unexpected_list") or [])[:5])),
        ]
        for r in results
    ]
    return table(["expectation", "column", "severity", "unexpected / observed", "%", "examples"], rows)


def findings_table(items: list[tuple[str, dict[str, Any]]]) -> str:
    return table(
        ["env", "rule", "severity", "resource", "message"],
        [
            [
                f"`{env}`",
                f"`{f['policy']}`",
                f["severity"],
                (f.get("resource_urn") or "stack").rsplit("::", 1)[-1],
                f["message"],
            ]
            for env, f in items
        ],
    )


def _rule(name: str, ev: dict[str, Any]) -> str:
    bounds = ev.get("thresholds", {}).get(name) or {}
    parts = [f"{sign} {bounds[key]}" for key, sign in (("min", "≥"), ("max", "≤")) if bounds.get(key) is not None]
    if name == ev.get("primary"):
        parts.append(f"primary, beat champion by {ev.get('beat_champion_by', 0)}")
    return ", ".join(parts)


def _primary(ev: dict[str, Any]) -> str:
    """The primary metric, with the multiclass averaging it used (binary classifiers score the positive class)."""
    average = ev.get("average")
    return ev["primary"] + (f" ({average} average)" if average and average != "binary" else "")


def metrics_head(ev: dict[str, Any]) -> list[str]:
    cand, champ = ev["candidate"], ev.get("champion")
    return [
        "metric",
        f"candidate v{cand['version']}",
        f"champion v{champ['version']}" if champ else "champion (none)",
        "change",
        "rule",
    ]


def metrics_rows(ev: dict[str, Any]) -> list[list[Any]]:
    cand, champ = ev["candidate"], ev.get("champion")
    names = [
        ev["primary"],
        *[n for n in ev.get("thresholds", {}) if n != ev["primary"]],
        *sorted(n for n in cand["metrics"] if n not in ev.get("thresholds", {}) and n != ev["primary"]),
    ]
    rows = []
    for n in names:
        new, old = cand["metrics"].get(n), (champ or {}).get("metrics", {}).get(n)
        delta = f"{new - old:+.4f}" if isinstance(new, float) and isinstance(old, float) else "—"
        rows.append([f"**{n}**" if _rule(n, ev) else n, _num(new), _num(old), delta, _rule(n, ev)])
    return rows


def step_row(s: dict[str, Any]) -> list[Any]:
    return [f"{ICON.get(s['status'], '')} {s['name']}", s["status"], f"{s['seconds']:.1f}", s["summary"]]


def serving(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What each environment serves now (deploy/<env>.yaml), read when the report was rendered."""
    return [(m, v, e["env"]) for e in doc["environments"] for m, v in (e.get("serving") or {}).items()]


def dataset_row(d: dict[str, Any]) -> list[Any]:
    return [
        f"{ICON['pass' if d['success'] else 'fail']} `{d['dataset']}`",
        d["path"],
        d["rows"],
        len(d["results"]),
        len(d["failures"]),
        len(d["warnings"]),
        f"`{d['digest'][:12]}`",
    ]


def model_row(m: dict[str, Any]) -> list[Any]:
    ev, tr = m["evaluation"], m["training"]
    if not ev:
        return [f"⏭️ `{m['name']}`", f"v{tr['version']}" if tr else "not trained", "—", "—", "—", "—", "not evaluated"]
    champ = ev.get("champion")
    return [
        f"{ICON[ev['verdict']]} `{m['name']}`",
        f"v{ev['candidate']['version']}",
        f"v{champ['version']}" if champ else "none",
        _primary(ev),
        _num(ev["candidate"]["metrics"].get(ev["primary"])),
        _num((champ or {}).get("metrics", {}).get(ev["primary"])),
        ev["verdict"],
    ]


def mlflow_row(m: dict[str, Any]) -> list[Any]:
    f = m["mlflow"]
    run = f"[`{f['run_id']}`]({f['url']})" if f.get("url") else f"`{f['run_id']}`"
    return [f"`{m['name']}`", run, f.get("experiment_id") or "—", f"`{f.get('model_uri')}`", f"`{f['tracking_uri']}`"]


def change_row(e: dict[str, Any]) -> list[Any]:
    c = e["changes"]
    return [
        f"`{e['env']}`",
        (e.get("plan") or {}).get("resources", "—"),
        *(c["counts"][a] for a in ("create", "update", "replace", "delete")),
        f"`{c['against']}`" if c["against"] else "nothing (no base plan): every resource is new",
    ]


def item_row(c: dict[str, Any]) -> list[Any]:
    return [c["action"], f"`{c['type']}`", c["name"], ", ".join(f"`{p}`" for p in c["paths"])]


def policy_row(e: dict[str, Any]) -> list[Any]:
    summary = e["findings"]["summary"]
    return [
        f"{ICON['pass' if e['findings'].get('passed', True) else 'fail']} `{e['env']}`",
        e.get("enforcement") or "—",
        summary.get("mandatory", 0),
        summary.get("advisory", 0),
        summary.get("unchecked", 0),
    ]


def finding_groups(envs: list[dict[str, Any]]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Findings by how they weigh: mandatory violations (blocking), advisory ones, unchecked and exempted."""
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {"mandatory": []}
    for e in envs:
        for f in e["findings"]["findings"]:
            key = f["enforcement"] if f["status"] == "violation" else f["status"]
            groups.setdefault(key, []).append((e["env"], f))
    return groups


def cost_row(e: dict[str, Any]) -> list[Any]:
    cost, budget = e["findings"]["cost"]["monthly_usd"], e.get("budget_usd_month")
    status = "no budget set" if budget is None else "✅ within budget" if cost <= budget else "❌ over budget"
    return [f"`{e['env']}`", _usd(cost), _usd(budget), status]


def cost_lines(envs: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [f"`{e['env']}`", ln["resource"], ln["item"], ln["count"], _usd(ln["usd_month"])]
        for e in envs
        for ln in e["findings"]["cost"]["lines"]
    ]


def unpriced(envs: list[dict[str, Any]]) -> list[str]:
    return [f"- `{e['env']}`: no price for {u}" for e in envs for u in e["findings"]["cost"].get("unpriced", [])]


def monitor_row(m: dict[str, Any]) -> list[Any]:
    return [
        f"{ICON['fail' if m['drifted'] else 'pass']} `{m['model']}`",
        f"`{m['env']}`",
        f"{m['since']} → {m['until']}",
        m["rows"],
        ", ".join(f"`{f['name']}`" for f in m["features"] if f["drifted"]) or "none",
        "drifted" if (m.get("prediction") or {}).get("drifted") else "stable" if m.get("prediction") else "—",
    ]


def drift_rows(m: dict[str, Any]) -> list[list[Any]]:
    features = [*m["features"], *([m["prediction"]] if m.get("prediction") else [])]
    return [
        [
            f"{'❌' if f['drifted'] else '✅'} `{f['name']}`",
            f["kind"],
            f"{f['psi']:.3f}",
            f"{f['test']} {f['statistic']:.3g}",
            f"{f['p_value']:.2g}",
            f["reference_n"],
            f["live_n"],
        ]
        for f in features
    ]


FILTERS: tuple[Callable[..., Any], ...] = (
    cell,
    _num,
    metrics_head,
    metrics_rows,
    step_row,
    serving,
    dataset_row,
    model_row,
    mlflow_row,
    change_row,
    item_row,
    policy_row,
    finding_groups,
    cost_row,
    cost_lines,
    unpriced,
    monitor_row,
    drift_rows,
)


@functools.cache
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update({f.__name__.lstrip("_"): f for f in FILTERS})
    env.globals.update(
        table=table,
        expectations_table=expectations_table,
        findings_table=findings_table,
        ICON=ICON,
        FINDING_GROUPS=FINDING_GROUPS,
    )
    return env.get_template("report.md.j2")


def render(report: Report, link: str = "") -> str:
    """The whole document; `link` prefixes evidence-relative links (chart, log) when it is written elsewhere."""
    return _template().render(doc=report.to_dict(), link=link).rstrip() + "\n"
