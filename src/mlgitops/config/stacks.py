"""The project's Pulumi stack files (`infra/Pulumi.<env>.yaml`) agree with `mlgitops.yaml`.

Pulumi reads the region and the allowed accounts from the stack file, mlgitops (plans, policy checks, buckets,
remote training) from `mlgitops.yaml`: when they disagree, `pulumi up` builds in one region what everything else looks
for in another. `config check` names the line of the stack file and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgitops.config import Project

STACK_DIR = "infra"


def stack_file(root: Path, env: str) -> Path:
    return Path(root) / STACK_DIR / f"Pulumi.{env}.yaml"


def expected(config: Project) -> dict[str, Any]:
    """The provider settings a stack file of `config.env` must carry: its region, and with `cloud.account_id`, that
    account as the only one the AWS provider may touch (`aws:allowedAccountIds`)."""
    out: dict[str, Any] = {"aws:region": config.cloud.region}
    if config.cloud.account_id:
        out["aws:allowedAccountIds"] = [config.cloud.account_id]
    return out


def problems(config: Project) -> list[str]:
    """What `infra/Pulumi.<env>.yaml` of `config.env` says against `mlgitops.yaml`, each as `file:line:col: ...`;
    none when the project has no such file (a stack not created yet takes the defaults `pulumi config` sets)."""
    from mlgitops import files
    from mlgitops.config.yamlfile import parse
    from mlgitops.errors import BadInput

    path = stack_file(config.root, config.env)
    if not path.is_file():
        return []
    label = f"{STACK_DIR}/{path.name}"
    try:
        doc = parse(files.read_bytes(path, fix="keep the stack file small", label=label), label)
    except BadInput as exc:
        return [str(exc)]
    settings = doc.data.get("config")
    if not isinstance(settings, dict):
        return [f"{doc.mark(('config',))}: expected `config:` to be a mapping of <namespace>:<key>: value"]
    found = []
    region = settings.get("aws:region")
    if region is not None and region != config.cloud.region:
        found.append(
            f"{doc.mark(('config', 'aws:region'))}: aws:region is {region} but mlgitops.yaml sets cloud.region "
            f"{config.cloud.region} for {config.env}: make them the same (Pulumi creates the stack's resources in "
            "aws:region; mlgitops plans, checks and trains in cloud.region)"
        )
    account = config.cloud.account_id
    allowed = settings.get("aws:allowedAccountIds")
    if account and allowed is None:
        found.append(
            f"{doc.mark(('config',))}: no aws:allowedAccountIds although mlgitops.yaml sets cloud.account_id {account}: "
            f'add `aws:allowedAccountIds: ["{account}"]` under config: so `pulumi up` refuses any other account'
        )
    elif account and [str(a) for a in (allowed if isinstance(allowed, list) else [allowed])] != [account]:
        found.append(
            f"{doc.mark(('config', 'aws:allowedAccountIds'))}: aws:allowedAccountIds is {allowed} but mlgitops.yaml sets "
            f'cloud.account_id {account}: set it to ["{account}"]'
        )
    return found
