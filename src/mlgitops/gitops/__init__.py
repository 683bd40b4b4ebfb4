"""GitOps: promote, rollback and drift keep `deploy/<env>.yaml` (the `DeployState` record) and the registry alias in step."""
from mlgitops.evidence.state import path_for, read
from mlgitops.gitops.core import FAIL_AT_ENV, Drift, Promotion, drift, fix_drift, gather_evidence, promote, rollback

__all__ = ["FAIL_AT_ENV", "Drift", "Promotion", "drift", "fix_drift", "gather_evidence", "promote", "rollback", "path_for", "read"]
