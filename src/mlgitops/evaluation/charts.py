"""The evaluation chart (`evaluation/<model>.png`): what a reviewer looks at before reading numbers.

Top row: one panel per metric scale (scores in [0, 1] apart from errors in the target's units or a loss),
candidate and champion as horizontal bars, each threshold as a red tick on its metric's row and the primary
metric marked. Bottom row: for a classifier the candidate's confusion matrix (each row normalised to the
true class) and its per-class precision, recall and F1, plus ROC for two classes; for a regressor predicted
versus actual and residuals. Legends sit below the panels, never over the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgitops.config.schema import greater_is_better
from mlgitops.evidence import Evaluation, atomic_write

# Metrics drawn besides the primary and the thresholded ones, by scale.
SCORES = (
    "roc_auc",
    "precision_recall_auc",
    "accuracy_score",
    "f1_score",
    "precision_score",
    "recall_score",
    "r2_score",
)
ERRORS = ("root_mean_squared_error", "mean_absolute_error")
LOSSES = ("log_loss",)
CANDIDATE, CHAMPION, THRESHOLD = "#1f77b4", "#b0b0b0", "#d62728"


def predictions(model: Any, features: Any, task: str) -> dict[str, Any]:
    """A loaded pyfunc model's predictions, and its class probabilities when the raw model has `predict_proba`."""
    import numpy as np

    pred = model.predict(features)
    pred = np.asarray(pred.iloc[:, 0] if hasattr(pred, "iloc") and getattr(pred, "ndim", 1) == 2 else pred).ravel()
    proba = None
    raw = model.get_raw_model() if hasattr(model, "get_raw_model") else None
    if task == "classification" and raw is not None and hasattr(raw, "predict_proba"):
        try:
            proba = np.asarray(raw.predict_proba(features))
        except (
            Exception
        ):  # the chart is evidence, not a gate: a model whose raw form cannot score here still gets the rest
            proba = None
    return {"pred": pred, "proba": proba, "classes": [str(c) for c in getattr(raw, "classes_", [])]}


def _scales(ev: Evaluation) -> list[tuple[str, list[str]]]:
    """Metric names grouped by scale: scores (0-1, higher is better), errors in the target's units, losses."""
    wanted = list(dict.fromkeys([ev.primary, *ev.thresholds, *SCORES, *ERRORS, *LOSSES]))
    wanted = [m for m in wanted if m in ev.candidate.metrics]
    scores = [m for m in wanted if greater_is_better(m)]
    errors = [m for m in wanted if not greater_is_better(m) and m not in LOSSES]
    losses = [m for m in wanted if m in LOSSES]
    return [
        (title, names)
        for title, names in (
            ("scores (higher is better)", scores),
            ("errors (lower is better)", errors),
            ("loss (lower is better)", losses),
        )
        if names
    ]


def _metric_panel(ax: Any, ev: Evaluation, title: str, names: list[str]) -> None:
    rows = list(reversed(names))  # the primary on top
    ys = range(len(rows))
    height = 0.38 if ev.champion else 0.6
    cand = [ev.candidate.metrics[n] for n in rows]
    ax.barh([y + (height / 2 if ev.champion else 0) for y in ys], cand, height, color=CANDIDATE)
    if ev.champion:
        ax.barh([y - height / 2 for y in ys], [ev.champion.metrics.get(n, 0.0) for n in rows], height, color=CHAMPION)
    top = max([*cand, *((ev.champion.metrics.get(n, 0.0) for n in rows) if ev.champion else [])] or [1.0])
    for y, name in zip(ys, rows, strict=False):
        value = ev.candidate.metrics[name]
        ax.text(value, y + (height / 2 if ev.champion else 0), f" {value:.3f}", va="center", fontsize=7)
        for bound in (ev.thresholds.get(name) or {}).values():
            if bound is not None:
                ax.plot([bound, bound], [y - 0.45, y + 0.45], color=THRESHOLD, linewidth=2.5)
                top = max(top, bound)
    labels = [f"★ {n}" if n == ev.primary else n for n in rows]
    ax.set_yticks(list(ys), labels, fontsize=8)
    if title.startswith("scores") and top <= 1.0:
        left = min(0.0, *cand)
        ax.set_xlim(left, 1.12)
    else:
        ax.set_xlim(0, top * 1.2)
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", alpha=0.3)


def _confusion(ax: Any, fig: Any, y: Any, pred: Any, classes: list[str], label: str) -> None:
    import numpy as np
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(np.asarray(y).astype(str), np.asarray(pred).astype(str), labels=classes, normalize="true")
    image = ax.imshow(np.nan_to_num(matrix), vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    if len(classes) <= 12:
        for i in range(len(classes)):
            for j in range(len(classes)):
                v = matrix[i, j]
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v > 0.6 else "black")
    ax.set(xlabel="predicted", ylabel="true")
    ax.set_title(f"confusion matrix, {label} (rows sum to 1)", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)


def _per_class(ax: Any, y: Any, pred: Any, classes: list[str]) -> None:
    import numpy as np
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, support = precision_recall_fscore_support(
        np.asarray(y).astype(str), np.asarray(pred).astype(str), labels=classes, zero_division=0
    )
    xs = np.arange(len(classes))
    width = 0.27
    for k, (values, name) in enumerate(((p, "precision"), (r, "recall"), (f, "F1"))):
        ax.bar(xs + (k - 1) * width, values, width, label=name)
    ax.set_xticks(list(xs), [f"{c}\n(n={n})" for c, n in zip(classes, support, strict=False)], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_title("per class, candidate", fontsize=9)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize=7, frameon=False)
    ax.grid(axis="y", alpha=0.3)


def _roc(ax: Any, y: Any, preds: dict[str, dict[str, Any]], classes: list[str]) -> bool:
    import numpy as np
    from sklearn.metrics import roc_curve

    drawn = False
    for (label, p), color in reversed(
        list(zip(preds.items(), (CANDIDATE, CHAMPION), strict=False))
    ):  # the candidate on top
        proba, order = p["proba"], p["classes"] or classes
        if proba is None or proba.ndim != 2 or proba.shape[1] != 2:
            continue
        positive = order[-1]
        fpr, tpr, _ = roc_curve(np.asarray(y).astype(str) == positive, proba[:, 1])
        ax.plot(fpr, tpr, color=color, label=label)
        drawn = True
    ax.plot([0, 1], [0, 1], "k--", linewidth=0.5)
    ax.set(xlabel="false positive rate", ylabel="true positive rate")
    ax.set_title("ROC", fontsize=9)
    return drawn


def _regression(axes: list[Any], y: Any, preds: dict[str, dict[str, Any]]) -> None:
    import numpy as np

    actual = np.asarray(y, dtype=float)
    lo, hi = float(np.nanmin(actual)), float(np.nanmax(actual))
    for (label, p), color in reversed(
        list(zip(preds.items(), (CANDIDATE, CHAMPION), strict=False))
    ):  # the candidate on top
        pred = np.asarray(p["pred"], dtype=float)
        axes[0].scatter(actual, pred, s=8, alpha=0.6, color=color, label=label)
        axes[1].scatter(pred, actual - pred, s=8, alpha=0.6, color=color, label=label)
        lo, hi = min(lo, float(np.nanmin(pred))), max(hi, float(np.nanmax(pred)))
    axes[0].plot([lo, hi], [lo, hi], "k--", linewidth=0.7)
    axes[0].set(xlabel="actual", ylabel="predicted")
    axes[0].set_title("predicted vs actual (dashed: perfect)", fontsize=9)
    axes[1].axhline(0, color="k", linestyle="--", linewidth=0.7)
    axes[1].set(xlabel="predicted", ylabel="actual - predicted")
    axes[1].set_title("residuals", fontsize=9)


def chart(path: Path, ev: Evaluation, y: Any, preds: dict[str, dict[str, Any]]) -> Path:
    """Write the chart; `preds` maps "candidate vN" / "champion vM" to `predictions(...)`."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    scales = _scales(ev)
    cols = max(len(scales), 3 if ev.task == "classification" and len(ev.classes) == 2 else 2)
    fig = plt.figure(figsize=(4.6 * cols, 8.2))
    grid = fig.add_gridspec(2, cols, height_ratios=[1, 1.25], hspace=0.55, wspace=0.45)
    for k, (title, names) in enumerate(scales):
        _metric_panel(fig.add_subplot(grid[0, k]), ev, title, names)
    cand_label = f"candidate v{ev.candidate.version}"
    cand = preds.get(cand_label) or next(iter(preds.values()))
    bottom = [fig.add_subplot(grid[1, k]) for k in range(cols)]
    if ev.task == "regression":
        _regression(bottom[:2], y, preds)
    else:
        classes = ev.classes
        _confusion(bottom[0], fig, y, cand["pred"], classes, cand_label)
        _per_class(bottom[1], y, cand["pred"], classes)
        if len(classes) == 2 and cols > 2 and not _roc(bottom[2], y, preds, classes):
            bottom[2].set_axis_off()
    for ax in bottom[(2 if ev.task == "regression" or len(ev.classes) != 2 else 3) :]:
        ax.set_axis_off()
    handles: list[Artist] = [Patch(color=CANDIDATE, label=cand_label)]
    if ev.champion:
        handles.append(Patch(color=CHAMPION, label=f"champion v{ev.champion.version}"))
    if ev.thresholds:
        handles.append(Line2D([], [], color=THRESHOLD, linewidth=2.5, label="threshold (min/max)"))
    direction = "higher" if greater_is_better(ev.primary) else "lower"
    average = f" · {ev.average} average" if ev.average and ev.average != "binary" else ""
    fig.suptitle(
        f"{ev.model}: {ev.verdict.upper()} · ★ primary {ev.primary} ({direction} is better){average}", fontsize=11
    )
    # Between the rows, under the metric panels: never over a bar or a point.
    fig.legend(handles=handles, loc="center", bbox_to_anchor=(0.5, 0.49), ncol=len(handles), fontsize=8, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return atomic_write(path, buf.getvalue())
