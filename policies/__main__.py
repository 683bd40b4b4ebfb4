"""The mlgitops CrossGuard policy pack: `pulumi preview --policy-pack policies/` in a project's infra dir.

Settings per environment come from the project's mlgitops.yaml: set MLGITOPS_PROJECT (default: the current
directory) and MLGITOPS_ENV (default: the stack name); `--policy-pack-config` overrides them per rule.
Never import this file in tests: PolicyPack() starts the analyzer server and blocks."""
from pulumi_policy import PolicyPack

from mlgitops.policies.pack import pack_from_environment

PolicyPack(**pack_from_environment())
