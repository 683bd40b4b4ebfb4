"""Training entry point: mlgitops calls `train(ctx)` and tracks everything else in MLflow."""

from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder


def train(ctx):
    features = ctx.data.drop(columns=[ctx.target])
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["contract"]), remainder="passthrough")
    model = make_pipeline(encode, RandomForestClassifier(random_state=0, **ctx.params))
    return model.fit(features, ctx.data[ctx.target])
