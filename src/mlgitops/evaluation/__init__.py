"""Champion/challenger evaluation: the candidate must meet the thresholds and beat what is deployed."""

from mlgitops.evaluation.evaluate import (
    Evaluation,
    Evaluations,
    evaluate,
    evaluate_all,
    evaluate_models,
    prepare,
    render_text,
)

__all__ = ["Evaluation", "Evaluations", "evaluate", "evaluate_all", "evaluate_models", "prepare", "render_text"]
