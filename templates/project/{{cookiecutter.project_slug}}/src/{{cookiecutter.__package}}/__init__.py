"""Model code of {{ cookiecutter.project_slug }}. `mlgitops train` calls `train.train`."""
