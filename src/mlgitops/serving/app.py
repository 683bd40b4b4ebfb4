"""The ASGI app `mlgitops serve` runs under uvicorn: MLflow's own scoring app (what `mlflow models serve` and the
SageMaker image run) for the model at MLflow's `__pyfunc_model_path__`, with data capture around it when the
endpoint captures (`mlgitops.serving.capture`). Imported only inside the server process."""

from __future__ import annotations

import os

from mlflow.pyfunc import scoring_server

from mlgitops.serving.capture import wrap

app = wrap(
    scoring_server.init(scoring_server.load_model_with_mlflow_config(os.environ[scoring_server._SERVER_MODEL_PATH]))
)
