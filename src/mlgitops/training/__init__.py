"""MLflow-tracked training around the user's entry point (`models.<name>.entry_point`).

The user writes `def train(ctx: TrainContext) -> estimator`; mlgitops owns the MLflow run, lineage,
model logging and registration, so every model in every project is tracked the same way.
"""
from mlgitops.training.runner import TrainContext, TrainingResult, TrainResult, prepare, train, train_all

__all__ = ["TrainContext", "TrainResult", "TrainingResult", "prepare", "train", "train_all"]
