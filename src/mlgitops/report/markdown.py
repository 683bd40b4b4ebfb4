"""The report as one markdown document for a PR comment: verdict first, one summary table per section,
bulk (every expectation, every finding, diagrams) in collapsed `<details>` so many models and
environments stay readable. Pure functions of the Report record's JSON form (`mlgitops.report.content.build`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from mlgitops.evidence import Report

ICON = {"pass": "✅", "fail": "❌", "incomplete": "⚠️", "ok": "✅", "failed": "❌", "error": "⛔", "skipped": "⏭️", "not_run": "⏸️"}
FINDING_GROUPS = (("advisory", "Advisory"), ("unchecked", "Cannot be checked before deploy"), ("exempted", "Exempted"))


def cell(value: Any) -> str:
    """A table cell: pipes escaped, newlines as <br>."""
    return str(value).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def table(head: list[str], rows: list[list[Any]]) -> list[str]:
    return [f"| {' | '.join(head)} |", f"|{'---|' * len(head)}", *(f"| {' | '.join(cell(c) for c in row)} |" for row in rows)]


def details(summary: str, body: list[str], open_: bool = False) -> list[str]:
    return [f"<details{' open' if open_ else ''}><summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "—" if value is None else str(value)


def _usd(value: Any) -> str:
    return "—" if value is None else f"${float(value):,.2f}"


def render_verdict(doc: dict[str, Any], link: str) -> list[str]:
    v = doc["verdict"]
    where = f" · {doc['project']}" if doc.get("project") else ""
    target = f" · candidate for `{doc['target_env']}`" if doc.get("target_env") else ""
    lines = [f"## {ICON[v['status']]} mlgitops: {v['status'].upper()}{where} · run `{doc['run_id']}`{target}", ""]
    lines += [f"- {r}" for r in v["reasons"]]
    lines += [f"- missing: {m}" for m in v["missing"]]
    return lines + ([""] if v["reasons"] or v["missing"] else [])


def render_serving(doc: dict[str, Any], link: str) -> list[str]:
    """What each environment serves now (deploy/<env>.yaml), read when the report was rendered."""
    rows = [f"- `{m}` v{v} serves `{e['env']}` (deploy/{e['env']}.yaml)" for e in doc["environments"] for m, v in (e.get("serving") or {}).items()]
    return ["### Serving now", "", *rows, ""] if rows else []


def render_steps(doc: dict[str, Any], link: str) -> list[str]:
    if not doc["steps"]:
        return []
    rows = [[f"{ICON.get(s['status'], '')} {s['name']}", s["status"], f"{s['seconds']:.1f}", s["summary"]] for s in doc["steps"]]
    log = [f"Output of every step: [`logs/pipeline.log`]({link}{doc['log']})", ""] if doc.get("log") else []
    return details("Pipeline steps", table(["step", "status", "s", "summary"], rows) + ["", *log],
                   open_=any(s["status"] != "ok" for s in doc["steps"]))


def _outcome(r: dict[str, Any]) -> str:
    """✅ met, ❌ a critical failure (blocks, as the console says FAIL), ⚠️ a warning or info that did not hold (reported only)."""
    return "✅" if r["success"] else "❌" if r["severity"] == "critical" else "⚠️"


def _observed(r: dict[str, Any]) -> str:
    """What GX measured: the unexpected count for per-row expectations, else the observed value (e.g. a row count)."""
    if r.get("unexpected_count") is not None:
        return _num(r.get("unexpected_count"))
    value = r.get("observed_value")
    return "—" if value is None else _num(value) if not isinstance(value, (list, dict)) else str(value)[:80]


def _expectations(results: list[dict[str, Any]]) -> list[str]:
    rows = [[f"{_outcome(r)} `{r['expectation']}`", r.get("column") or "", r["severity"],
             _observed(r), _num(r.get("unexpected_percent")), ", ".join(map(str, (r.get("partial_unexpected_list") or [])[:5]))]
            for r in results]
    return table(["expectation", "column", "severity", "unexpected / observed", "%", "examples"], rows)


def render_data(doc: dict[str, Any], link: str) -> list[str]:
    if not doc["datasets"]:
        return ["### Data gate", "", "No data gate evidence.", ""]
    rows = [[f"{ICON['pass' if d['success'] else 'fail']} `{d['dataset']}`", d["path"], d["rows"], len(d["results"]),
             len(d["failures"]), len(d["warnings"]), f"`{d['digest'][:12]}`"] for d in doc["datasets"]]
    lines = ["### Data gate", "", *table(["dataset", "file", "rows", "expectations", "critical failures", "warnings", "sha256"], rows), ""]
    for d in doc["datasets"]:
        if d["failures"]:
            lines += [f"**Failed critical expectations in `{d['dataset']}`**", "", *_expectations(d["failures"]), ""]
    for d in doc["datasets"]:
        lines += details(f"All {len(d['results'])} expectations of <code>{d['dataset']}</code>", _expectations(d["results"]))
    return lines


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


def _metrics(ev: dict[str, Any]) -> list[str]:
    cand, champ = ev["candidate"], ev.get("champion")
    names = [ev["primary"], *[n for n in ev.get("thresholds", {}) if n != ev["primary"]],
             *sorted(n for n in cand["metrics"] if n not in ev.get("thresholds", {}) and n != ev["primary"])]
    rows = []
    for n in names:
        new, old = cand["metrics"].get(n), (champ or {}).get("metrics", {}).get(n)
        delta = f"{new - old:+.4f}" if isinstance(new, float) and isinstance(old, float) else "—"
        rows.append([f"**{n}**" if _rule(n, ev) else n, _num(new), _num(old), delta, _rule(n, ev)])
    return table(["metric", f"candidate v{cand['version']}", f"champion v{champ['version']}" if champ else "champion (none)", "change", "rule"], rows)


def render_models(doc: dict[str, Any], link: str) -> list[str]:
    if not doc["models"]:
        return []
    lines = ["### Models: candidate vs champion", ""]
    rows = []
    for m in doc["models"]:
        ev, tr = m["evaluation"], m["training"]
        if ev:
            champ = ev.get("champion")
            rows.append([f"{ICON[ev['verdict']]} `{m['name']}`", f"v{ev['candidate']['version']}", f"v{champ['version']}" if champ else "none",
                         _primary(ev), _num(ev["candidate"]["metrics"].get(ev["primary"])), _num((champ or {}).get("metrics", {}).get(ev["primary"])), ev["verdict"]])
        else:
            rows.append([f"⏭️ `{m['name']}`", f"v{tr['version']}" if tr else "not trained", "—", "—", "—", "—", "not evaluated"])
    lines += [*table(["model", "candidate", "champion", "primary metric", "candidate", "champion", "verdict"], rows), ""]
    for m in doc["models"]:
        ev = m["evaluation"]
        if not ev:
            continue
        body = _metrics(ev) + [""]
        notes = [*ev["reasons"], *(f"note: {n}" for n in ev["notes"])]
        body += [f"- {r}" for r in notes] + ([""] if notes else [])
        if m["chart"]:
            body += [f"![{m['name']}: candidate vs champion]({link}{m['chart']})", ""]
        lines += details(f"{ICON[ev['verdict']]} <code>{m['name']}</code>: metrics, rules and chart", body, open_=ev["verdict"] != "pass")
    return lines


def render_mlflow(doc: dict[str, Any], link: str) -> list[str]:
    runs = [m for m in doc["models"] if m.get("mlflow")]
    if not runs:
        return []
    rows = []
    for m in runs:
        f = m["mlflow"]
        run = f"[`{f['run_id']}`]({f['url']})" if f.get("url") else f"`{f['run_id']}`"
        rows.append([f"`{m['name']}`", run, f.get("experiment_id") or "—", f"`{f.get('model_uri')}`", f"`{f['tracking_uri']}`"])
    lines = ["### MLflow runs", "", *table(["model", "training run", "experiment", "registered model", "tracking URI"], rows), ""]
    local = sorted({m["mlflow"]["tracking_uri"] for m in runs if not m["mlflow"].get("url")})
    lines += [f"Browse a local store with `mlflow ui --backend-store-uri {uri}`." for uri in local]
    return lines + ([""] if local else [])


def render_infrastructure(doc: dict[str, Any], link: str) -> list[str]:
    envs = [e for e in doc["environments"] if e.get("changes")]
    if not envs:
        return []
    rows = []
    for e in envs:
        c = e["changes"]
        rows.append([f"`{e['env']}`", (e.get("plan") or {}).get("resources", "—"), *(c["counts"][a] for a in ("create", "update", "replace", "delete")),
                     f"`{c['against']}`" if c["against"] else "nothing (no base plan): every resource is new"])
    lines = ["### Infrastructure changes", "", *table(["env", "resources", "create", "update", "replace", "delete", "compared with"], rows), ""]
    for e in envs:
        items, against = e["changes"]["items"], e["changes"]["against"]
        rows = [[c["action"], f"`{c['type']}`", c["name"], ", ".join(f"`{p}`" for p in c["paths"])] for c in items]
        body = table(["action", "type", "name", "changed inputs"], rows) if items and against else [] if items else ["No changes."]
        body += ["", *(f"> {n}" for n in (e.get("plan") or {}).get("notes", []))]
        if e.get("mermaid"):
            body += ["", e["mermaid"].rstrip()]
        title = f"{len(items)} change(s)" if against else "every resource is new"
        lines += details(f"<code>{e['env']}</code>: {title}, resource diagram", body,
                         open_=bool(against) and any(c["action"] != "create" for c in items))
    return lines


def _findings(items: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return table(["env", "rule", "severity", "resource", "message"],
                 [[f"`{env}`", f"`{f['policy']}`", f["severity"], (f.get("resource_urn") or "stack").rsplit("::", 1)[-1], f["message"]] for env, f in items])


def render_policies(doc: dict[str, Any], link: str) -> list[str]:
    envs = [e for e in doc["environments"] if e.get("findings")]
    if not envs:
        return []
    rows = [[f"{ICON['pass' if e['findings'].get('passed', True) else 'fail']} `{e['env']}`", e.get("enforcement") or "—",
             e["findings"]["summary"].get("mandatory", 0), e["findings"]["summary"].get("advisory", 0), e["findings"]["summary"].get("unchecked", 0)]
            for e in envs]
    lines = ["### Policy findings", "", *table(["env", "enforcement", "mandatory", "advisory", "cannot check before deploy"], rows), ""]
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {"mandatory": []}
    for e in envs:
        for f in e["findings"]["findings"]:
            key = f["enforcement"] if f["status"] == "violation" else f["status"]
            groups.setdefault(key, []).append((e["env"], f))
    if groups["mandatory"]:
        lines += ["**Mandatory (blocking)**", "", *_findings(groups["mandatory"]), ""]
    for key, title in FINDING_GROUPS:
        if groups.get(key):
            lines += details(f"{title} ({len(groups[key])})", _findings(groups[key]))
    return lines


def render_cost(doc: dict[str, Any], link: str) -> list[str]:
    envs = [e for e in doc["environments"] if (e.get("findings") or {}).get("cost") is not None]
    if not envs:
        return []
    rows = []
    for e in envs:
        cost, budget = e["findings"]["cost"]["monthly_usd"], e.get("budget_usd_month")
        status = "no budget set" if budget is None else "✅ within budget" if cost <= budget else "❌ over budget"
        rows.append([f"`{e['env']}`", _usd(cost), _usd(budget), status])
    lines = ["### Estimated monthly cost", "", *table(["env", "estimate / month", "budget / month", ""], rows), ""]
    body = table(["env", "resource", "item", "count", "USD / month"],
                 [[f"`{e['env']}`", ln["resource"], ln["item"], ln["count"], _usd(ln["usd_month"])] for e in envs for ln in e["findings"]["cost"]["lines"]])
    unpriced = [f"- `{e['env']}`: no price for {u}" for e in envs for u in e["findings"]["cost"].get("unpriced", [])]
    if len(body) > 2 or unpriced:
        lines += details("Cost lines", body + ([""] + unpriced if unpriced else []))
    return lines


def _drift_rows(m: dict[str, Any]) -> list[list[Any]]:
    features = [*m["features"], *([m["prediction"]] if m.get("prediction") else [])]
    return [[f"{'❌' if f['drifted'] else '✅'} `{f['name']}`", f["kind"], f"{f['psi']:.3f}", f"{f['test']} {f['statistic']:.3g}",
             f"{f['p_value']:.2g}", f["reference_n"], f["live_n"]] for f in features]


def render_monitoring(doc: dict[str, Any], link: str) -> list[str]:
    """`mlgitops monitor` runs: drifted features first, each with its reference-vs-live plot."""
    if not doc.get("monitoring"):
        return []
    rows = [[f"{ICON['fail' if m['drifted'] else 'pass']} `{m['model']}`", f"`{m['env']}`", f"{m['since']} → {m['until']}", m["rows"],
             ", ".join(f"`{f['name']}`" for f in m["features"] if f["drifted"]) or "none",
             "drifted" if (m.get("prediction") or {}).get("drifted") else "stable" if m.get("prediction") else "—"]
            for m in doc["monitoring"]]
    lines = ["### Monitoring: served traffic vs training data", "",
             *table(["model", "env", "window (UTC)", "rows", "drifted features", "predictions"], rows), ""]
    for m in doc["monitoring"]:
        body = [f"Reference: `{m['reference']}` (sha256 `{m['reference_digest'].removeprefix('sha256:')[:12]}`), "
                f"{m['records']} captured requests from `{m['capture']}`; drift is PSI ≥ {m['thresholds'].get('psi')} "
                f"and Benjamini-Hochberg adjusted p < {m['thresholds'].get('p_value')} on ≥ {m['thresholds'].get('min_rows'):.0f} rows.", "",
                *table(["feature", "kind", "PSI", "test", "adjusted p", "reference n", "live n"], _drift_rows(m)), ""]
        if m["schema_failures"]:
            body += ["**Expectations the live inputs fail**", "", *_expectations(m["schema_failures"]), ""]
        metric = m.get("metric")
        if metric:
            live = _num(metric.get("live"))
            body += [f"- `{metric['metric']}` live {live} on {metric['labelled']} labelled rows vs {_num(metric.get('promoted'))} at promotion"
                     + (f" ({metric['note']})" if metric.get("note") else ""), ""]
        body += [f"- note: {n}" for n in m.get("notes", [])] + ([""] if m.get("notes") else [])
        for f in [*m["features"], *([m["prediction"]] if m.get("prediction") else [])]:
            if f["drifted"] and f.get("plot"):
                body += [f"![{f['name']}: reference vs live]({link}{f['plot']})", ""]
        lines += details(f"{ICON['fail' if m['drifted'] else 'pass']} <code>{m['model']}</code> in <code>{m['env']}</code>: "
                         f"{sum(f['drifted'] for f in m['features'])} of {len(m['features'])} features drifted", body, open_=m["drifted"])
    return lines


SECTIONS: tuple[Callable[[dict[str, Any], str], list[str]], ...] = (
    render_verdict, render_steps, render_serving, render_monitoring, render_data, render_models, render_infrastructure, render_policies, render_cost,
    render_mlflow,
)


def render(report: "Report", link: str = "") -> str:
    """The whole document; `link` prefixes evidence-relative links (chart, log) when it is written elsewhere."""
    doc = report.to_dict()
    lines: list[str] = []
    for section in SECTIONS:
        lines += section(doc, link)
    return "\n".join(lines).rstrip() + "\n"
