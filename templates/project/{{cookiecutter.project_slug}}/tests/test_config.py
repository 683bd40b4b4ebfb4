"""mlgitops.yaml is valid in every environment, and the sample data meets its contract."""
from pathlib import Path

from mlgitops.config import check, load
from mlgitops.data import validate

ROOT = Path(__file__).resolve().parents[1]


def test_config_is_valid_in_every_environment():
    envs = check(ROOT)
    assert set(envs) == {"local", *load(ROOT).environments}


def test_prod_is_guarded():
    prod = load(ROOT, "prod")
    assert prod.policies.enforcement == "mandatory"
    for model in prod.models.values():
        assert model.serving.min_instances >= 2 and model.serving.data_capture.enabled


def test_sample_data_meets_its_contract(monkeypatch):
    monkeypatch.setenv("MLGITOPS_RUN_ID", "pytest")  # evidence under .mlgitops/evidence/pytest, not the pipeline's run
    reports = validate(load(ROOT))
    assert all(r.success for r in reports), [(r.dataset, f.expectation, f.column) for r in reports for f in r.failures]
