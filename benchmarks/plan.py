"""Offline plan speed: the churn example for its 3 environments (one engine subprocess), and synthetic
projects with 5 and 50 promoted endpoints; the baseline is an empty Pulumi program planned in the same run.

Targets: 3 environments under 3 s total on 2 cores; 50/5 ratio at most 12 (linear in endpoints); validating the
3 plans against AWS's API models (`mlgitops.aws_api`, in a fresh interpreter: import, models from the cache file,
every resource) adds at most 20% to planning them.
Run: .venv/bin/python benchmarks/plan.py
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from mlgitops.config import load
from mlgitops.evidence import DeployEntry, DeployState
from mlgitops.plan import plan_configs, plan_environments, plan_program

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "churn"
RUNS = 3


def release(env: str, models: list[str]) -> DeployState:
    return DeployState(
        env=env,
        models={
            m: DeployEntry(
                digest="sha256:" + "0" * 64,
                version="1",
                registry_name=m,
                model_uri=f"models:/{m}/1",
                artifact_uri=f"s3://b/{m}/1/model.tar.gz",
            )
            for m in models
        },
    )


def synthetic(root: Path, n: int) -> tuple:
    """The example with `n` models, all promoted to prod: n endpoints (8 resources each)."""
    doc = yaml.safe_load((EXAMPLE / "mlgitops.yaml").read_text())
    base = doc["models"].pop("churn-classifier")
    doc["models"] = {f"m{i:02d}": copy.deepcopy(base) for i in range(n)}
    doc["environments"] = {"prod": {}}
    project = root / f"n{n}"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".mlgitops"))
    (project / "mlgitops.yaml").write_text(yaml.safe_dump(doc))
    config = load(project, "prod")
    return config, release("prod", list(config.models))


VALIDATE = """
import json, sys, time
start = time.perf_counter()
from mlgitops.aws_api import check_plan
from mlgitops.plan import Plan
plans = [Plan.model_validate(d) for d in json.load(open(sys.argv[1]))]
found = sum(len(check_plan(p)) for p in plans)
print(json.dumps({"seconds": time.perf_counter() - start, "found": found}))
"""


def validate(plans_file: Path, cold_cache: Path | None = None) -> float:
    """Seconds a fresh interpreter takes to validate the plans (what `mlgitops plan` adds); `cold_cache`: an empty
    cache folder, so botocore's models are read and extracted as on a machine's first run."""
    import os

    env = {**os.environ, **({"XDG_CACHE_HOME": str(cold_cache)} if cold_cache else {})}
    out = subprocess.run(
        [sys.executable, "-c", VALIDATE, str(plans_file)], capture_output=True, text=True, check=True, env=env
    )
    doc = json.loads(out.stdout)
    assert doc["found"] == 0, "the example's plans should have no aws-api findings"
    return doc["seconds"]


def best(fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        empty = root / "empty"
        empty.mkdir()
        (empty / "Pulumi.yaml").write_text("name: empty\nruntime: python\n")
        (empty / "__main__.py").write_text("import pulumi\n")
        base, _ = best(lambda: plan_program(empty, "dev"))
        states = {env: release(env, ["churn-classifier"]) for env in ("staging", "prod")} | {"local": None}
        three, plans = best(lambda: plan_environments(EXAMPLE, ["local", "staging", "prod"], states))
        counts = ", ".join(f"{env} {len(p.resources)}" for env, p in plans.items())
        plans_file = root / "plans.json"
        plans_file.write_text(json.dumps([p.to_dict() for p in plans.values()]))
        validate(plans_file)  # make sure the cache file exists
        checked, _ = best(lambda: validate(plans_file))
        cold = validate(plans_file, root / "cold-cache")
        five_cfg, fifty_cfg = synthetic(root, 5), synthetic(root, 50)
        five, p5 = best(lambda: plan_configs([five_cfg]))
        fifty, p50 = best(lambda: plan_configs([fifty_cfg]))
    print(f"baseline (empty program, interpreter + pulumi start): {base:.2f} s  [best of {RUNS}]")
    print(
        f"example, 3 environments in one engine: {three:.2f} s ({counts} resources)  target < 3 s  "
        f"{'OK' if three < 3 else 'MISSED'}"
    )
    print(f"5 endpoints:  {five:.2f} s ({len(p5[0].resources)} resources)")
    print(f"50 endpoints: {fifty:.2f} s ({len(p50[0].resources)} resources)")
    ratio = fifty / five
    marginal = (fifty - base) / max(five - base, 1e-9)
    print(
        f"50/5 ratio: {ratio:.2f} end to end, {marginal:.2f} above the baseline  target <= 12  {'OK' if marginal <= 12 else 'MISSED'}"
    )
    print(f"3 environments / baseline: {three / base:.2f}")
    share = checked / three
    print(
        f"AWS API validation of the 3 plans: {checked:.2f} s (fresh interpreter, cached models) = {share:.0%} of planning them  "
        f"target <= 20%  {'OK' if share <= 0.20 else 'MISSED'}; first run on a machine (extracting botocore's models): {cold:.2f} s"
    )


if __name__ == "__main__":
    main()
