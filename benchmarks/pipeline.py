"""Wall time of `mlgitops pipeline pr` on the template project, per step, against floors measured in this run.

    .venv/bin/python benchmarks/pipeline.py [--repeats 2]

Floors (each the median of `--repeats` runs):
  - interpreter + imports: a child process importing great_expectations, mlflow, pulumi, pulumi_aws and
    sklearn (a script file, not `-c`: pyspark, which GX imports, skips work when __main__ has no file);
    also each library alone, as the floor of the step that needs it; and "as used": plus the MLflow
    submodules, skops, matplotlib and pulumi_policy that the steps import (MLflow imports them lazily);
  - fit + predict: the template's own model (its `train.build(params)`) fitted on the training data and
    predicting the holdout, in this process.
The pipeline runs as a user runs it (`python -m mlgitops pipeline pr --json`, a fresh process): "first use"
on a fresh project with an empty $XDG_CACHE_HOME (as on a new CI runner: matplotlib builds its font list),
"cold" on another fresh project (a new MLflow store), "warm" again on the same project. Targets: total
<= 1.5 x the sum of the floors, and <= 30 s on 2 cores.
The data gate runs in a child process while the parent imports MLflow, so the data step includes that
work; the plan runs in the background, so the step times add up to more than the total.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIBRARIES = {"great_expectations": "great_expectations", "mlflow": "mlflow", "pulumi": "pulumi, pulumi_aws", "sklearn": "sklearn.linear_model"}
# What the steps import beyond `import mlflow`: MLflow loads its sklearn flavor (skops), default evaluator and
# matplotlib lazily, and the policy engine imports pulumi_policy. Library imports all the same.
AS_USED = "mlflow.sklearn, mlflow.models.evaluation.default_evaluator, skops.io, matplotlib.pyplot, pulumi_policy"
STEP_FLOOR = {"data": ["great_expectations"], "train": ["fit"], "evaluate": ["predict"], "plan": ["interpreter", "pulumi"]}


def timed(cmd: list[str], **kw: object) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - start, proc


def import_seconds(tmp: Path, modules: str) -> float:
    script = tmp / f"imports_{abs(hash(modules))}.py"
    script.write_text(f"import {modules}\n" if modules else "pass\n")
    seconds, proc = timed([sys.executable, str(script)])
    assert proc.returncode == 0, proc.stderr
    return seconds


def fit_predict_floor(project: Path, repeats: int) -> tuple[float, float]:
    """(fit, predict) seconds of the project's model, outside MLflow."""
    import importlib

    import pandas as pd

    from mlgitops.config import load

    config = load(project)
    [(name, spec)] = config.models.items()
    sys.path.insert(0, str(project / "src"))
    build = importlib.import_module(spec.entry_point.split(":")[0]).build
    train = pd.read_csv(config.resolve(config.datasets[spec.dataset].path))
    holdout = pd.read_csv(config.resolve(config.datasets[spec.holdout].path)).drop(columns=[spec.target])
    fits, predicts = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = build(dict(spec.params)).fit(train.drop(columns=[spec.target]), train[spec.target])
        t1 = time.perf_counter()
        model.predict(holdout)
        model.predict_proba(holdout) if hasattr(model, "predict_proba") else None
        predicts.append(time.perf_counter() - t1)
        fits.append(t1 - t0)
    return statistics.median(fits), statistics.median(predicts)


def run_pipeline(project: Path, **env: str) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "mlgitops", "--project", str(project), "pipeline", "pr", "--json"]
    seconds, proc = timed(cmd, env={**os.environ, **env})
    if proc.returncode != 0:
        raise SystemExit(f"pipeline failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return seconds, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="warm pipeline runs and floor repetitions")
    args = parser.parse_args()
    from mlgitops.scaffold import new

    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-") as tmp_name:
        tmp = Path(tmp_name)
        first = run_pipeline(new(tmp / "first"), XDG_CACHE_HOME=str(tmp / "cache"))  # empty caches
        project = new(tmp / "bench")
        runs = [run_pipeline(project)]  # cold: a new MLflow store
        imports = {"interpreter": "", "imports": ", ".join(LIBRARIES.values()),
                   "as used": ", ".join([*LIBRARIES.values(), AS_USED]), **LIBRARIES}
        samples: dict[str, list[float]] = {name: [] for name in imports}
        for _ in range(args.repeats):  # interleaved with the warm runs: a busy spell on the machine hits both
            runs.append(run_pipeline(project))
            for name, modules in imports.items():
                samples[name].append(import_seconds(tmp, modules))
        floors = {name: statistics.median(seconds) for name, seconds in samples.items()}
        floors["fit"], floors["predict"] = fit_predict_floor(project, max(3, args.repeats))

    floor = floors["imports"] + floors["fit"] + floors["predict"]
    used = floors["as used"] + floors["fit"] + floors["predict"]
    cold, warm = runs[0], (statistics.median(r[0] for r in runs[1:]) if len(runs) > 1 else runs[0][0])
    print(f"floors: interpreter {floors['interpreter']:.2f}s; interpreter + imports of GX, MLflow, pulumi(+aws), sklearn {floors['imports']:.2f}s "
          f"(alone: " + ", ".join(f"{n} {floors[n]:.2f}s" for n in LIBRARIES) + f"), as the steps use them {floors['as used']:.2f}s; "
          f"fit {floors['fit']:.3f}s; predict {floors['predict']:.3f}s")
    print(f"sum of floors: {floor:.2f}s (imports as used: {used:.2f}s)")
    for label, seconds in (("first use (empty caches)", first[0]), ("cold (new MLflow store)", cold[0]), (f"warm (median of {len(runs) - 1})", warm)):
        verdict = "met" if seconds <= min(1.5 * floor, 30) else "NOT met"
        print(f"pipeline {label}: {seconds:.2f}s = {seconds / floor:.2f}x floors ({seconds / used:.2f}x with imports as used); "
              f"target <= 1.5x ({1.5 * floor:.1f}s) and <= 30s: {verdict}")
    print()
    print(f"{'step':<9} {'cold s':>7} {'warm s':>7}  floor")
    for i, step in enumerate(cold[1]["steps"]):
        warm_s = statistics.median(r[1]["steps"][i]["seconds"] for r in runs[1:]) if len(runs) > 1 else step["seconds"]
        parts = STEP_FLOOR.get(step["name"], [])
        f = sum(floors[p] for p in parts)
        note = f"{f:.3f}s ({' + '.join(parts)})" + (f": cold {step['seconds'] / f:.1f}x, warm {warm_s / f:.1f}x" if f >= 0.1 else "") if parts else "-"
        print(f"{step['name']:<9} {step['seconds']:>7.2f} {warm_s:>7.2f}  {note}")


if __name__ == "__main__":
    main()
