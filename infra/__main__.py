"""The account's platform stack: `pulumi up --stack prod` here, once per AWS account, by an administrator, before any
project stack; `mlgitops plan --program infra --env prod` offline. Settings in mlgitops.yaml here."""

from pathlib import Path

import pulumi

from mlgitops.config import load
from mlgitops.infra.platform import build_platform

build_platform(load(Path(__file__).resolve().parent, pulumi.get_stack()))
