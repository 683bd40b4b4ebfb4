"""GitOps: promote, rollback and drift keep `deploy/<env>.yaml` (the `DeployState` record) and the registry alias in step."""

from mlgitops.evidence.state import path_for, read
from mlgitops.gitops.core import (
    FAIL_AT_ENV,
    Drift,
    DriftCheck,
    Promotion,
    Promotions,
    check_drift,
    drift,
    fix_drift,
    gather_evidence,
    promote,
    render_drift,
    render_promotions,
    rollback,
)

__all__ = [
    "FAIL_AT_ENV",
    "Drift",
    "DriftCheck",
    "Promotion",
    "Promotions",
    "check_drift",
    "drift",
    "fix_drift",
    "gather_evidence",
    "promote",
    "render_drift",
    "render_promotions",
    "rollback",
    "path_for",
    "read",
]
