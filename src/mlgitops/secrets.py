"""Credentials never leave the process: the userinfo (`user:password@`) of every URI we print or store is masked.

`mlgitops.yaml` is versioned, so a password in `tracking.uri` is refused outright (config check); MLflow reads
credentials from MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (or a token) instead. A URI that still
carries them (from the environment, say) is masked wherever it is printed or written: reports, evidence,
`--json` output, MLflow params and tags.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
# scheme://userinfo@ ; userinfo has no '/', '@' or whitespace
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s'\"`]+)@")


def has_userinfo(uri: str) -> bool:
    return bool(_USERINFO.search(uri))


def mask_uri(uri: str) -> str:
    """`https://user:pw@host/x` -> `https://***@host/x`; anything else unchanged."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", uri)


def mask_secrets(value: Any) -> Any:
    """The same with every string inside `value` (dicts and lists walked), for documents about to be printed or stored."""
    if isinstance(value, str):
        return mask_uri(value)
    if isinstance(value, dict):
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v) for v in value]
    return value
