"""Policy checks before promotion: infrastructure rules (run by CrossGuard and offline over a Plan) and promotion
rules (over a pipeline run's evidence), one registry, one set of enforcement controls.

Stable API: `all_rules()`, `check(config, plan, run) -> Findings`, `Findings.to_dict()`, `to_sarif(findings)`,
`render_table(findings)`, `pack_arguments(config)` (for `policies/__main__.py`)."""

from __future__ import annotations

from mlgitops.policies.registry import RULES, Rule, all_rules

__all__ = ["RULES", "Rule", "all_rules"]
