"""Wall time of `mlgitops pipeline pr` on the template project, per step, against floors measured in this run.

    .venv/bin/python benchmarks/pipeline.py [--repeats 3]

Floors:
  - interpreter + imports: a child process importing great_expectations, mlflow, pulumi, pulumi_aws and
    sklearn (a script file, not `-c`: pyspark, which GX imports, skips work when __main__ has no file);
    "as used": plus the MLflow submodules, skops, matplotlib and pulumi_policy that the steps import (MLflow
    imports them lazily); also each library alone (median of `--repeats`), as the floor of its step;
  - fit + predict: the template's own model (its `train.build(params)`) fitted on the training data and
    predicting the holdout, in this process.
The pipeline runs as a user runs it (`python -m mlgitops pipeline pr --json`, a fresh process): "first use"
on a fresh project with an empty $XDG_CACHE_HOME (as on a new CI runner: matplotlib builds its font list),
"cold" on another fresh project (a new MLflow store), "warm" again on the same project, `--repeats` times.
The import floors are measured just before and after every pipeline run, and each run is compared with the
mean of its two neighbours: this machine's speed drifts by a third within minutes, and a run and its floors
then drift together. Targets: total <= 1.5 x the sum of the floors, and <= 30 s on 2 cores.
`--against REF` also runs the pipeline of the git commit REF (a temporary worktree, on the same venv) on a warm
project of its own, alternating with this checkout's warm runs, and prints the paired ratio: this code / REF's.
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

LIBRARIES = {
    "great_expectations": "great_expectations",
    "mlflow": "mlflow",
    "pulumi": "pulumi, pulumi_aws",
    "sklearn": "sklearn.linear_model",
}
# What the steps import beyond `import mlflow`: MLflow loads its sklearn flavor (skops), default evaluator and
# matplotlib lazily, and the policy engine imports pulumi_policy. skops comes first, as mlgitops imports it
# (`mlgitops.speed.import_mlflow`): after MLflow's modules it takes a second longer.
AS_USED = "mlflow.sklearn, mlflow.models.evaluation.default_evaluator, matplotlib.pyplot, pulumi_policy"
STEP_FLOOR = {
    "data": ["great_expectations"],
    "train": ["fit"],
    "evaluate": ["predict"],
    "plan": ["interpreter", "pulumi"],
}


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


def worktree(ref: str, where: Path) -> Path:
    """REF's source in a temporary worktree; its `src` goes first on PYTHONPATH to run its pipeline."""
    repo = Path(__file__).resolve().parents[1]
    subprocess.run(
        ["git", "-C", str(repo), "worktree", "add", "--detach", "--force", str(where), ref],
        check=True,
        capture_output=True,
    )
    return where / "src"


def run_pipeline(project: Path, **env: str) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "mlgitops", "--project", str(project), "pipeline", "pr", "--json"]
    seconds, proc = timed(cmd, env={**os.environ, **env})
    if proc.returncode != 0:
        raise SystemExit(f"pipeline failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return seconds, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="warm pipeline runs and floor repetitions")
    parser.add_argument("--against", metavar="REF", help="a git commit whose pipeline to compare with, run alternately")
    args = parser.parse_args()
    from mlgitops.scaffold import new

    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-") as tmp_name:
        tmp = Path(tmp_name)
        project = new(tmp / "bench")
        scenarios = [
            ("first use (empty caches)", new(tmp / "first"), {"XDG_CACHE_HOME": str(tmp / "cache")}),
            ("cold (new MLflow store)", project, {}),
            *[("warm", project, {})] * args.repeats,
        ]
        around: dict[str, list[float]] = {"imports": [], "as used": []}  # sampled before and after every run

        def sample() -> None:
            around["imports"].append(import_seconds(tmp, ", ".join(LIBRARIES.values())))
            around["as used"].append(import_seconds(tmp, ", ".join(["skops.io", *LIBRARIES.values(), AS_USED])))

        sample()
        runs = []
        for label, path, env in scenarios:
            runs.append((label, *run_pipeline(path, **env)))
            sample()
        paired = compare(args.against, tmp, project, args.repeats) if args.against else []
        floors = {
            name: statistics.median(import_seconds(tmp, modules) for _ in range(args.repeats))
            for name, modules in {"interpreter": "", **LIBRARIES}.items()
        }
        floors["fit"], floors["predict"] = fit_predict_floor(project, max(3, args.repeats))

    model = floors["fit"] + floors["predict"]
    print(
        f"floors: interpreter {floors['interpreter']:.2f}s; "
        + ", ".join(f"{n} alone {floors[n]:.2f}s" for n in LIBRARIES)
        + f"; fit {floors['fit']:.3f}s; predict {floors['predict']:.3f}s"
    )
    ratios: dict[str, list[float]] = {}
    for i, (label, seconds, _) in enumerate(runs):
        floor, used = (statistics.mean(around[k][i : i + 2]) + model for k in ("imports", "as used"))
        ratios.setdefault(label, []).append(seconds / floor)
        verdict = "met" if seconds <= min(1.5 * floor, 30) else "NOT met"
        print(
            f"pipeline {label}: {seconds:.2f}s; floors around it {floor:.2f}s ({used:.2f}s with imports as used) = "
            f"{seconds / floor:.2f}x ({seconds / used:.2f}x); target <= 1.5x and <= 30s: {verdict}"
        )
    warm = ratios.get("warm", [])
    if warm:
        print(
            f"warm runs: median {statistics.median(warm):.2f}x the floors around them (range {min(warm):.2f}-{max(warm):.2f}x)"
        )
    if paired:
        print(
            f"against {args.against}: warm runs alternated, this / {args.against} = median {statistics.median(paired):.2f}x "
            f"(range {min(paired):.2f}-{max(paired):.2f}x; below 1 is faster)"
        )
    print()
    print(f"{'step':<9} {'cold s':>7} {'warm s':>7}  floor")
    cold, warm_runs = runs[1][2], [r[2] for r in runs[2:]] or [runs[1][2]]
    for i, step in enumerate(cold["steps"]):
        warm_s = statistics.median(r["steps"][i]["seconds"] for r in warm_runs)
        parts = STEP_FLOOR.get(step["name"], [])
        f = sum(floors[p] for p in parts)
        note = (
            f"{f:.3f}s ({' + '.join(parts)})"
            + (f": cold {step['seconds'] / f:.1f}x, warm {warm_s / f:.1f}x" if f >= 0.1 else "")
            if parts
            else "-"
        )
        print(f"{step['name']:<9} {step['seconds']:>7.2f} {warm_s:>7.2f}  {note}")


def compare(ref: str, tmp: Path, project: Path, repeats: int) -> list[float]:
    """Seconds of this checkout's warm run over REF's next to it, `repeats` times, each on its own warm project."""
    src = worktree(ref, tmp / "against")
    theirs = tmp / "theirs"
    path = {"PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    try:  # REF's own template: its config may not know keys this checkout's template writes
        subprocess.run(
            [sys.executable, "-m", "mlgitops", "new", str(theirs), "--no-input", "--no-git"],
            env={**os.environ, **path},
            check=True,
            capture_output=True,
        )
        run_pipeline(theirs, **path)  # its store made, as this checkout's project already has
        ratios = []
        for _ in range(repeats):
            ours, _ = run_pipeline(project)
            their, _ = run_pipeline(theirs, **path)
            ratios.append(ours / their)
        return ratios
    finally:
        subprocess.run(
            ["git", "-C", str(src.parent), "worktree", "remove", "--force", str(src.parent)], capture_output=True
        )


if __name__ == "__main__":
    main()
