"""AWS Batch rules: training containers never run privileged."""
from __future__ import annotations

from typing import Any, Iterator

from mlgitops.policies._util import as_list, document, get
from mlgitops.policies.registry import resource_rule

JOB_DEFINITION = ("aws:batch/jobDefinition:JobDefinition",)


@resource_rule("batch-no-privileged", "Batch job definitions do not run privileged containers.", JOB_DEFINITION, severity="critical")
def no_privileged(args: Any) -> Iterator[str]:
    containers = [document(args.props.get("containerProperties"))]
    node = document(args.props.get("nodeProperties"))
    containers += [get(g, "container") or {} for g in as_list(node.get("nodeRangeProperties"))]
    ecs = document(args.props.get("ecsProperties"))
    containers += [c for t in as_list(ecs.get("taskProperties")) for c in as_list(get(t, "containers"))]
    if any(isinstance(c, dict) and c.get("privileged") is True for c in containers):
        yield "a container has privileged: true"
