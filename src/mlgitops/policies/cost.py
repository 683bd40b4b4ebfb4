"""Monthly cost estimate of a stack from a shipped price table, checked against `policies.budget_usd_month`.

Endpoints cost their instance-hours at the minimum instance count (what runs around the clock); S3 is nominal."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib import resources as importlib_resources
from typing import Any

from mlgitops.evidence.records import CostEstimate
from mlgitops.policies._util import as_list
from mlgitops.policies.registry import stack_rule


@lru_cache(maxsize=1)
def prices() -> dict[str, Any]:
    return json.loads(
        importlib_resources.files("mlgitops.policies").joinpath("prices.json").read_text(encoding="utf-8")
    )


def estimate(resources: Iterable[Any]) -> CostEstimate:
    """Estimate from PolicyResource-like objects (`resource_type`, `name`, `props`)."""
    table, est = prices(), CostEstimate()
    hours = float(table["hours_per_month"])

    def add(res: Any, item: str, count: float, rate: float | None) -> None:
        if rate is None:
            est.unpriced.append(f"{res.name}: {item}")
            return
        usd = rate * hours * count
        est.monthly_usd += usd
        est.lines.append({"resource": res.name, "item": item, "count": count, "usd_month": round(usd, 2)})

    for r in resources:
        if r.resource_type == "aws:sagemaker/endpointConfiguration:EndpointConfiguration":
            for v in as_list(r.props.get("productionVariants")):
                if v.get("instanceType"):
                    add(
                        r,
                        str(v.get("instanceType")),
                        float(v.get("initialInstanceCount") or 1),
                        table["sagemaker_hosting"].get(v.get("instanceType")),
                    )
        elif r.resource_type == "aws:sagemaker/notebookInstance:NotebookInstance":
            add(r, str(r.props.get("instanceType")), 1, table["sagemaker_notebook"].get(r.props.get("instanceType")))
        elif r.resource_type == "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer":
            size = str(r.props.get("trackingServerSize") or "Small")
            add(r, f"mlflow {size}", 1, table["mlflow_tracking_server"].get(size))
    return est


@stack_rule(
    "cost-budget", "The estimated monthly cost of the stack stays within policies.budget_usd_month.", severity="medium"
)
def budget(args: Any) -> Iterator[tuple[None, str]]:
    est = estimate(args.resources)
    for item in est.unpriced:
        yield None, f"no price for {item}; add it to the price table or the estimate is too low"
    limit = args.get_config().get("budget_usd_month")
    if limit and est.monthly_usd > float(limit):
        yield None, f"estimated ${est.monthly_usd:,.2f}/month exceeds the budget of ${float(limit):,.2f}/month"
