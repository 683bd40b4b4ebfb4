"""AWS Batch rules: training containers never run privileged, and every job fits the instances it may run on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlgitops.policies._util import as_list, document, get
from mlgitops.policies.registry import resource_rule, stack_rule

JOB_DEFINITION = ("aws:batch/jobDefinition:JobDefinition",)


@resource_rule(
    "batch-no-privileged",
    "Batch job definitions do not run privileged containers.",
    JOB_DEFINITION,
    severity="critical",
)
def no_privileged(args: Any) -> Iterator[str]:
    containers = [document(args.props.get("containerProperties"))]
    node = document(args.props.get("nodeProperties"))
    containers += [get(g, "container") or {} for g in as_list(node.get("nodeRangeProperties"))]
    ecs = document(args.props.get("ecsProperties"))
    containers += [c for t in as_list(ecs.get("taskProperties")) for c in as_list(get(t, "containers"))]
    if any(isinstance(c, dict) and c.get("privileged") is True for c in containers):
        yield "a container has privileged: true"


COMPUTE_ENVIRONMENT = ("aws:batch/computeEnvironment:ComputeEnvironment",)


def _capacity(instance_type: str) -> tuple[int, int, int] | None:
    """vCPUs, memory a job may have, and GPUs of an instance type; of a family (`m5`), its largest size; None for
    Batch's `optimal`. The ECS agent and the OS keep part of the memory, so a job asking for all of it is never placed."""
    from mlgitops.infra.training import MEMORY_SHARE, instance_types

    table = instance_types()
    family = [v for k, v in table.items() if k.split(".", 1)[0] == instance_type]
    found = table.get(instance_type) or (max(family) if family else None)
    return None if found is None else (found[0], int(found[1] * MEMORY_SHARE), found[2])


@stack_rule(
    "batch-job-fits-instance",
    "Every Batch job's vCPU, memory and GPU requirements fit an instance type of a compute "
    "environment (a job that fits none stays RUNNABLE forever).",
    JOB_DEFINITION,
)
def job_fits(args: Any) -> Iterator[tuple[str, str]]:
    offered = [
        t
        for ce in args.resources
        if ce.resource_type in COMPUTE_ENVIRONMENT
        for t in as_list(get(ce.props.get("computeResources") or {}, "instanceTypes"))
    ]
    capacities = [c for c in map(_capacity, offered) if c is not None]
    if not offered or len(capacities) < len(offered):
        return  # no compute environment here, or `optimal`: nothing to check against
    for job in (r for r in args.resources if r.resource_type in JOB_DEFINITION):
        wanted = {
            r.get("type"): int(float(r.get("value", 0)))
            for r in as_list(document(job.props.get("containerProperties")).get("resourceRequirements"))
        }
        need = (wanted.get("VCPU", 0), wanted.get("MEMORY", 0), wanted.get("GPU", 0))
        if not any(all(n <= c for n, c in zip(need, cap, strict=False)) for cap in capacities):
            yield (
                job.urn,
                (
                    f"job {job.props.get('name')} asks for {need[0]} vCPU, {need[1]} MiB and {need[2]} GPU, more than any of "
                    f"{', '.join(offered)} has; lower its requirements or choose a larger compute.instance_type"
                ),
            )
