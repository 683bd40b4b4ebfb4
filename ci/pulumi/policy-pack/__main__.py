"""The mlgitops CrossGuard policy pack of a generated project (the suite's `policies/`, without its install step).

No virtualenv: Pulumi runs it with the Python on PATH, where the setup action installed mlgitops.
MLGITOPS_PROJECT (else the first mlgitops.yaml at or above $PWD) and MLGITOPS_ENV (else the stack name) pick the
project and environment whose mlgitops.yaml settings apply; found nowhere, the advisory `policy-pack-settings`
diagnostic says the pack runs with defaults."""

from pulumi_policy import PolicyPack

from mlgitops.policies.pack import pack_from_environment

PolicyPack(**pack_from_environment())
