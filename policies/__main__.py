"""The mlgitops CrossGuard policy pack: `pulumi preview --policy-pack policies/` in a project's infra dir.

Settings per environment come from the project's mlgitops.yaml: MLGITOPS_PROJECT, else the first mlgitops.yaml at
or above $PWD (the CLI starts this file from the pack's own folder; $PWD is where `pulumi` was run), and
MLGITOPS_ENV (default: the stack name). Found nowhere, the pack runs with defaults and says so in the advisory
`policy-pack-settings` diagnostic. `--policy-pack-config` overrides settings per rule.
Never import this file in tests: PolicyPack() starts the analyzer server and blocks (tests/test_policy_pack_grpc.py
starts it as the CLI does)."""

from pulumi_policy import PolicyPack

from mlgitops.policies.pack import pack_from_environment

PolicyPack(**pack_from_environment())
