"""Regenerate the template's sample datasets from the copies scikit-learn ships (no download).

binary_classification: Wisconsin breast cancer (UCI, CC BY 4.0), the ten "mean" features, target `malignant` (1 = malignant).
regression: diabetes (Efron et al. 2004, "Least Angle Regression"), raw units, target `progression` (one year after baseline).
Each is split 80/20 into train.csv and holdout.csv with a fixed seed (stratified for the classifier).
"""

from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import train_test_split

DATA = Path(__file__).resolve().parents[1] / "templates" / "project" / "{{cookiecutter.project_slug}}" / "data"
DIABETES_NAMES = {"s1": "tc", "s2": "ldl", "s3": "hdl", "s4": "tch", "s5": "ltg", "s6": "glu", "target": "progression"}


def write(name: str, frame, stratify: str | None = None) -> None:
    train, holdout = train_test_split(
        frame, test_size=0.2, random_state=0, stratify=frame[stratify] if stratify else None
    )
    (DATA / name).mkdir(parents=True, exist_ok=True)
    train.to_csv(DATA / name / "train.csv", index=False)
    holdout.to_csv(DATA / name / "holdout.csv", index=False)


def main() -> None:
    cancer = load_breast_cancer(as_frame=True).frame
    cancer = cancer[[c for c in cancer.columns if c.startswith("mean ")] + ["target"]]
    cancer.columns = [c.replace(" ", "_") for c in cancer.columns[:-1]] + ["malignant"]
    cancer["malignant"] = 1 - cancer["malignant"]  # scikit-learn codes malignant as 0
    write("breast_cancer", cancer, stratify="malignant")

    diabetes = load_diabetes(as_frame=True, scaled=False).frame.rename(columns=DIABETES_NAMES)
    for column in diabetes.columns:
        if (diabetes[column] % 1 == 0).all():
            diabetes[column] = diabetes[column].astype(int)
    write("diabetes", diabetes)


if __name__ == "__main__":
    main()
