"""How much pinning pip requirements saves in `log_model` (the runner passes them explicitly).

Logs the example's model to a throwaway SQLite store with pinned requirements and with MLflow's
inference, a few times each in this run, and prints medians and the ratio. Run: python benchmarks/training.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "churn"


def main(repeats: int = 3) -> None:
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    sys.path.insert(0, str(EXAMPLE / "src"))
    from churn.train import train

    from mlgitops.training.runner import TrainContext, pinned_requirements, trusted_types

    frame = pd.read_csv(EXAMPLE / "data" / "train.csv")
    ctx = TrainContext(
        data=frame, target="churned", params={"n_estimators": 50}, output_dir=Path("."), model_name="m", config=None
    )
    model = train(ctx)
    example = ctx.features.head(5)
    kwargs = {
        "signature": infer_signature(example, model.predict(example)),
        "input_example": example,
        "skops_trusted_types": trusted_types(model),
    }
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
        mlflow.set_experiment("bench")
        timings: dict[str, list[float]] = {"pinned": [], "inferred": []}
        for _ in range(repeats):
            for label, reqs in (("pinned", pinned_requirements("scikit-learn")), ("inferred", None)):
                with mlflow.start_run():
                    start = time.perf_counter()
                    mlflow.sklearn.log_model(model, name="model", pip_requirements=reqs, **kwargs)
                    timings[label].append(time.perf_counter() - start)
    pinned, inferred = (statistics.median(timings[k]) for k in ("pinned", "inferred"))
    print(
        f"log_model median: pinned {pinned:.3f}s, inferred {inferred:.3f}s, inferred/pinned = {inferred / pinned:.1f}x"
    )


if __name__ == "__main__":
    main()
