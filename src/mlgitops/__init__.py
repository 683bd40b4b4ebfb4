"""mlgitops: GitOps for machine learning on Pulumi, MLflow and Great Expectations."""

__version__ = "0.1.0"
