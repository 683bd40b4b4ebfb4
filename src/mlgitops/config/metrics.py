"""Which metrics a model's task computes, so `config check` can refuse a name before anything trains.

The names are those `mlflow.models.evaluate` (MLflow 3.17, `models/evaluation/evaluators/classifier.py` and
`regressor.py`) logs for a scikit-learn model: a binary classifier adds the confusion counts, ROC and PR AUC;
a multiclass one computes precision, recall and F1 with `evaluator_config["average"]` (MLflow's default is
`weighted`) and ROC AUC (one-vs-rest) only for `macro` and `weighted`.
"""

from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    CLASSIFICATION = "classification"
    REGRESSION = "regression"


class Average(StrEnum):
    """How precision, recall, F1 (and ROC AUC) of a multiclass classifier average over the classes."""

    MACRO = "macro"  # every class counts the same: a rare class's errors show
    WEIGHTED = "weighted"  # classes weighted by their support (MLflow's default)
    MICRO = "micro"  # pooled over every prediction (equals accuracy for single-label data)


BINARY_AVERAGE = "binary"  # what MLflow uses for two classes whatever `average` says: the positive class's scores

COMMON = frozenset(
    {"example_count", "score", "accuracy_score", "precision_score", "recall_score", "f1_score", "log_loss"}
)
BINARY = COMMON | {
    "roc_auc",
    "precision_recall_auc",
    "true_negatives",
    "false_positives",
    "false_negatives",
    "true_positives",
}
MULTICLASS = COMMON | {"roc_auc"}
REGRESSION = frozenset(
    {
        "example_count",
        "score",
        "mean_absolute_error",
        "mean_squared_error",
        "root_mean_squared_error",
        "sum_on_target",
        "mean_on_target",
        "r2_score",
        "max_error",
        "mean_absolute_percentage_error",
    }
)


def task_metrics(task: str) -> frozenset[str]:
    """Every name evaluation can compute for `task` (binary or multiclass: the class count is known only from the data)."""
    return REGRESSION if task == Task.REGRESSION else BINARY | MULTICLASS


def default_primary(task: str, classes: int | None = None) -> str:
    """The primary metric when the config names none: ROC AUC for two classes, F1 for more, RMSE for a regressor."""
    if task == Task.REGRESSION:
        return "root_mean_squared_error"
    return "roc_auc" if classes is None or classes <= 2 else "f1_score"


def average_used(task: str, classes: int, average: str) -> str | None:
    """The averaging MLflow applied: None for a regressor, `binary` for two classes, else the configured one."""
    if task == Task.REGRESSION:
        return None
    return BINARY_AVERAGE if classes <= 2 else average


ALL = BINARY | MULTICLASS | REGRESSION
