"""The Plan: what a Pulumi program would declare, as plain data every other capability can read.

The record itself (`Plan`, `Resource`) lives in `mlgitops.evidence`, beside the other records the stages exchange.
"""

from mlgitops.evidence.records import Plan, Resource

PLAN_FIX = "write one with `mlgitops plan --env ENV --out FILE`"

__all__ = ["PLAN_FIX", "Plan", "Resource"]
