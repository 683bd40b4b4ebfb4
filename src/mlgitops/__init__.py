"""mlgitops: GitOps for machine learning on Pulumi, MLflow and Great Expectations."""


def __getattr__(name: str) -> str:
    """`mlgitops.__version__`: the installed version (from git tags at build time), read only when asked for."""
    if name == "__version__":
        from mlgitops.suite import version

        return version()
    raise AttributeError(f"module 'mlgitops' has no attribute {name!r}")
