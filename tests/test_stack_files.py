"""The project's Pulumi stack files against mlgitops.yaml (`config check`): the region Pulumi builds in is the one
mlgitops plans for, and `cloud.account_id` is the only account `pulumi up` may touch. A rendered project's files are
checked, then broken one way at a time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlgitops.config import check, load
from mlgitops.config.stacks import expected, problems
from mlgitops.errors import BadInput
from mlgitops.scaffold import new


@pytest.fixture()
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    return new(tmp_path / "acme-risk", {"environments": "staging,prod", "aws_account_id": "210987654321"})


def test_a_rendered_project_agrees_with_its_stack_files(project):
    assert check(project) == ["local", "staging", "prod"]
    config = load(project, "prod")
    assert expected(config) == {"aws:region": "eu-west-1", "aws:allowedAccountIds": ["210987654321"]}
    assert problems(config) == []


def test_a_stack_file_in_another_region_fails_config_check_at_its_line(project):
    path = project / "infra" / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("aws:region: eu-west-1", "aws:region: eu-central-1"))
    with pytest.raises(BadInput) as exc:
        check(project)
    message = str(exc.value)
    assert re.search(
        r"infra/Pulumi\.prod\.yaml:2:3: aws:region is eu-central-1 but mlgitops\.yaml sets cloud\.region eu-west-1 for prod",
        message,
    )
    assert "staging" not in message  # the other stack file agrees


def test_a_stack_file_that_allows_another_account_or_none_fails(project):
    path = project / "infra" / "Pulumi.staging.yaml"
    path.write_text(path.read_text().replace("210987654321", "111111111111"))
    (stage,) = problems(load(project, "staging"))
    assert (
        stage.startswith("infra/Pulumi.staging.yaml:3:3: aws:allowedAccountIds is ['111111111111']")
        and '["210987654321"]' in stage
    )
    path.write_text("config:\n  aws:region: eu-west-1\n")
    (missing,) = problems(load(project, "staging"))
    assert (
        missing.startswith("infra/Pulumi.staging.yaml:1:1: no aws:allowedAccountIds")
        and "aws:allowedAccountIds" in missing
    )


def test_without_an_account_id_or_a_stack_file_nothing_is_required(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    project = new(tmp_path / "acme-risk", {"environments": "prod"})
    assert "account_id" not in (project / "mlgitops.yaml").read_text()
    assert problems(load(project, "prod")) == []
    (project / "infra" / "Pulumi.prod.yaml").unlink()  # `pulumi stack select --create` makes it
    assert problems(load(project, "prod")) == []
    (project / "infra" / "Pulumi.prod.yaml").write_text("config: [not, a, mapping]\n")
    (broken,) = problems(load(project, "prod"))
    assert broken.startswith("infra/Pulumi.prod.yaml:1:")


def test_the_projects_and_the_platforms_pulumi_projects_name_their_toolchain_and_requirements(project):
    """`pulumi up` creates infra/venv with pip and installs requirements.txt there: what the program imports."""
    import yaml
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    from mlgitops.plan import read_pulumi_project

    for infra in (project / "infra", Path(__file__).resolve().parents[1] / "infra"):
        meta = yaml.safe_load((infra / "Pulumi.yaml").read_text())
        assert meta["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}, infra
        assert read_pulumi_project(infra)[1] == "__main__.py"
        assert (infra / "requirements.txt").is_file()
    pinned = (project / "requirements-mlgitops.txt").read_text().strip().splitlines()[-1]
    (requirement,) = parse_requirements(str(project / "infra" / "requirements.txt"), session=PipSession())
    assert requirement.requirement == pinned  # the project's own pin, through `-r ../requirements-mlgitops.txt`
    assert "infra/venv/" in (project / ".gitignore").read_text().split()
