"""The model code on the sample data, without MLflow: fast feedback while editing train.py.

Every model, its task, its metrics and their thresholds come from mlgitops.yaml: rename a model, add one or
change a threshold there and these tests follow.
"""
import importlib
from pathlib import Path

import pytest

from mlgitops.config import load
from mlgitops.data import load_frame
from mlgitops.evaluation.holdout import holdout_metrics
from mlgitops.training import TrainContext, TrainResult

ROOT = Path(__file__).resolve().parents[1]
CONFIG = load(ROOT)


def fit(name: str, tmp_path: Path):
    spec = CONFIG.models[name]
    module, func = spec.entry_point.split(":")
    train = getattr(importlib.import_module(module), func)
    ctx = TrainContext(data=load_frame(CONFIG, spec.dataset), target=spec.target, params=spec.params,
                       output_dir=tmp_path, model_name=name, config=CONFIG)
    returned = train(ctx)
    return returned.model if isinstance(returned, TrainResult) else returned


@pytest.mark.parametrize("name", list(CONFIG.models))
def test_model_meets_its_configured_thresholds_on_the_holdout(name, tmp_path):
    spec = CONFIG.models[name]
    metrics = holdout_metrics(CONFIG, name, fit(name, tmp_path))
    for metric, bound in spec.metrics.thresholds.items():
        if bound.min is not None:
            assert metrics[metric] >= bound.min, f"{name} ({spec.task}): {metric} {metrics[metric]:.4f} < min {bound.min}"
        if bound.max is not None:
            assert metrics[metric] <= bound.max, f"{name} ({spec.task}): {metric} {metrics[metric]:.4f} > max {bound.max}"
