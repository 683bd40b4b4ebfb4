"""Training entry point (`models.*.entry_point` in mlgitops.yaml).

mlgitops calls `train(ctx)` inside a tracked MLflow run: `ctx.features` and `ctx.labels` are the
training data, `ctx.params` the model's `params` after the environment overlay. Return a fitted
scikit-learn estimator; mlgitops logs, signs and registers it.
"""
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
{%- if cookiecutter.problem_type == "binary_classification" %}
from sklearn.linear_model import LogisticRegression


def build(params: dict) -> Pipeline:
    """Scaled features into a logistic regression; `params` go to LogisticRegression."""
    return Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(random_state=0, **params))])
{%- else %}
from sklearn.linear_model import Ridge


def build(params: dict) -> Pipeline:
    """Scaled features into a ridge regression; `params` go to Ridge."""
    return Pipeline([("scale", StandardScaler()), ("model", Ridge(**params))])
{%- endif %}


def train(ctx) -> Pipeline:
    return build(ctx.params).fit(ctx.features, ctx.labels)
