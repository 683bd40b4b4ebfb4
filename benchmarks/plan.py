"""Offline plan speed: the churn example for its 3 environments (one engine subprocess), and synthetic
projects with 5 and 50 promoted endpoints; the baseline is an empty Pulumi program planned in the same run.

Targets: 3 environments under 3 s total on 2 cores; 50/5 ratio at most 12 (linear in endpoints).
Run: .venv/bin/python benchmarks/plan.py
"""
from __future__ import annotations

import copy
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from mlgitops.config import load
from mlgitops.plan import plan_configs, plan_environments, plan_program

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "churn"
RUNS = 3


def release(env: str, models: list[str]) -> dict:
    return {"env": env, "models": {m: {"version": "1", "model_uri": f"models:/{m}/1", "artifact_uri": f"s3://b/{m}/1/model.tar.gz"} for m in models}}


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
        five_cfg, fifty_cfg = synthetic(root, 5), synthetic(root, 50)
        five, p5 = best(lambda: plan_configs([five_cfg]))
        fifty, p50 = best(lambda: plan_configs([fifty_cfg]))
    print(f"baseline (empty program, interpreter + pulumi start): {base:.2f} s  [best of {RUNS}]")
    print(f"example, 3 environments in one engine: {three:.2f} s ({counts} resources)  target < 3 s  "
          f"{'OK' if three < 3 else 'MISSED'}")
    print(f"5 endpoints:  {five:.2f} s ({len(p5[0].resources)} resources)")
    print(f"50 endpoints: {fifty:.2f} s ({len(p50[0].resources)} resources)")
    ratio = fifty / five
    marginal = (fifty - base) / max(five - base, 1e-9)
    print(f"50/5 ratio: {ratio:.2f} end to end, {marginal:.2f} above the baseline  target <= 12  {'OK' if marginal <= 12 else 'MISSED'}")
    print(f"3 environments / baseline: {three / base:.2f}")


if __name__ == "__main__":
    main()
