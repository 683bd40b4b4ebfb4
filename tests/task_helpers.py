"""One project per task, as a user adapts the template: binary (the template, its model renamed), multiclass
(penguin-like species from numeric and categorical columns with missing values, string labels, macro average)
and regression (the template's regressor with its `metrics:` block deleted, so the task's defaults apply)."""

from __future__ import annotations

from pathlib import Path

from pipeline_helpers import cli, edit

TASKS = ("binary", "multiclass", "regression")
MODELS = {"binary": "tumour-risk", "multiclass": "species", "regression": "regressor"}

PENGUIN_TRAIN = '''"""Species from body measurements and the island: impute, one-hot encode, logistic regression."""
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def train(ctx) -> Pipeline:
    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), make_column_selector(dtype_include="number")),
        ("categories", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         make_column_selector(dtype_exclude="number")),
    ])
    return Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=1000, **ctx.params))]).fit(ctx.features, ctx.labels)
'''

SPECIES = {  # species -> (island weights, bill length, bill depth, flipper length, body mass) as means
    "Adelie": ((0.4, 0.3, 0.3), 38.8, 18.3, 190.0, 3700.0),
    "Chinstrap": ((0.0, 1.0, 0.0), 48.8, 18.4, 196.0, 3730.0),
    "Gentoo": ((1.0, 0.0, 0.0), 47.5, 15.0, 217.0, 5080.0),
}
ISLANDS = ("Biscoe", "Dream", "Torgersen")


def penguins(rows: int, seed: int):
    """A penguin-like frame: string labels, a categorical column, about 5% missing values in three columns."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = list(SPECIES)
    species = rng.choice(names, size=rows, p=[0.45, 0.2, 0.35])
    out = {
        "island": [],
        "bill_length_mm": [],
        "bill_depth_mm": [],
        "flipper_length_mm": [],
        "body_mass_g": [],
        "species": [],
    }
    for s in species:
        weights, bill, depth, flipper, mass = SPECIES[s]
        out["island"].append(rng.choice(ISLANDS, p=np.array(weights) / sum(weights)))
        out["bill_length_mm"].append(round(float(rng.normal(bill, 4.5)), 1))
        out["bill_depth_mm"].append(round(float(rng.normal(depth, 1.6)), 1))
        out["flipper_length_mm"].append(float(round(rng.normal(flipper, 11.0))))
        out["body_mass_g"].append(float(round(rng.normal(mass, 600.0), -1)))
        out["species"].append(str(s))
    frame = pd.DataFrame(out)
    for col in ("island", "bill_length_mm", "body_mass_g"):
        frame.loc[rng.random(rows) < 0.05, col] = None
    return frame


def _multiclass(root: Path) -> None:
    data = root / "data" / "penguins"
    data.mkdir(parents=True)
    train, holdout = penguins(300, 1), penguins(90, 2)
    for col in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"):  # inside the suite's ranges
        holdout[col] = holdout[col].clip(train[col].min(), train[col].max())
    train.to_csv(data / "train.csv", index=False)
    holdout.to_csv(data / "holdout.csv", index=False)
    made = cli("data", "init-suite", str(data / "train.csv"), "--out", str(root / "expectations" / "penguins.json"))
    assert made.returncode == 0, made.stderr
    package = next(p for p in (root / "src").iterdir() if p.is_dir())
    (package / "train.py").write_text(PENGUIN_TRAIN)
    config = root / "mlgitops.yaml"
    config.write_text(config.read_text().replace("breast_cancer", "penguins").replace("classifier", "species"))
    edit(config, "    target: malignant\n", "    target: species\n")
    edit(config, "    params: {C: 1.0, max_iter: 1000}\n", "    params: {C: 1.0}\n")
    edit(
        config,
        "      primary: roc_auc\n      thresholds: {roc_auc: {min: 0.95}, f1_score: {min: 0.85}}\n",
        "      average: macro  # every species counts the same, however rare\n      thresholds: {f1_score: {min: 0.85}, accuracy_score: {min: 0.85}}\n",
    )


def make(task: str, dest: Path) -> Path:
    """The project of `task` in `dest`."""
    from mlgitops.scaffold import new

    root = new(
        dest,
        {
            "problem_type": "regression" if task == "regression" else "binary_classification",
            "environments": "staging,prod",
        },
    )
    config = root / "mlgitops.yaml"
    if task == "binary":
        config.write_text(config.read_text().replace("classifier", MODELS["binary"]))
    elif task == "multiclass":
        _multiclass(root)
    else:
        text = config.read_text()
        start = text.index("    metrics:\n")
        end = text.index("    serving:\n")
        config.write_text(text[:start] + text[end:])
    return root
