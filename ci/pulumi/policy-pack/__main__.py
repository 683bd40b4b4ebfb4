"""The mlgitops CrossGuard policy pack of a generated project (the suite's `policies/`, without its install step).

No virtualenv: Pulumi runs it with the Python on PATH, where the setup action installed mlgitops.
MLGITOPS_PROJECT and MLGITOPS_ENV pick the project and environment whose mlgitops.yaml settings apply."""
from pulumi_policy import PolicyPack

from mlgitops.policies.pack import pack_from_environment

PolicyPack(**pack_from_environment())
