"""Champion/challenger evaluation: the candidate must meet the thresholds and beat what is deployed."""
from mlgitops.evaluation.evaluate import Evaluation, evaluate, evaluate_all, prepare

__all__ = ["Evaluation", "evaluate", "evaluate_all", "prepare"]
