"""The model code on the sample data, without MLflow: fast feedback while editing train.py."""
from pathlib import Path

from mlgitops.config import load
from mlgitops.data import load_frame
from mlgitops.training import TrainContext
{%- if cookiecutter.problem_type == "binary_classification" %}
from sklearn.metrics import roc_auc_score
{%- else %}
from sklearn.metrics import root_mean_squared_error
{%- endif %}

from {{ cookiecutter.__package }}.train import train

ROOT = Path(__file__).resolve().parents[1]
MODEL = "{{ 'classifier' if cookiecutter.problem_type == 'binary_classification' else 'regressor' }}"


def test_train_meets_the_configured_threshold_on_the_holdout(tmp_path):
    config = load(ROOT)
    spec = config.models[MODEL]
    ctx = TrainContext(data=load_frame(config, spec.dataset), target=spec.target, params=spec.params,
                       output_dir=tmp_path, model_name=MODEL, config=config)
    estimator = train(ctx)
    holdout = load_frame(config, spec.holdout)
    features, labels = holdout.drop(columns=[spec.target]), holdout[spec.target]
{%- if cookiecutter.problem_type == "binary_classification" %}
    assert roc_auc_score(labels, estimator.predict_proba(features)[:, 1]) >= spec.metrics.thresholds["roc_auc"].min
{%- else %}
    assert root_mean_squared_error(labels, estimator.predict(features)) <= spec.metrics.thresholds["root_mean_squared_error"].max
{%- endif %}
