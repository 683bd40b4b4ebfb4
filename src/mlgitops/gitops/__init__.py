"""GitOps desired state: `deploy/<env>.yaml` written by promote/rollback; the registry alias follows it."""
from mlgitops.gitops.core import FAIL_AT_ENV, Drift, Promotion, drift, fix_drift, gather_evidence, promote, rollback
from mlgitops.gitops.desired import path_for, read

__all__ = ["FAIL_AT_ENV", "Drift", "Promotion", "drift", "fix_drift", "gather_evidence", "promote", "rollback", "path_for", "read"]
