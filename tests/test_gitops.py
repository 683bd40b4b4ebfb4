"""Promotion as a file + alias, with compare-and-set, crash safety, rollback and drift, on a real MLflow registry."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import subprocess

import pytest
import yaml
from gitops_helpers import MODEL, digest, registry, write_evidence  # noqa: F401  (fixture)

from mlgitops.errors import BadInput, GateFailed
from mlgitops.gitops import FAIL_AT_ENV, drift, fix_drift, promote, rollback
from mlgitops.gitops.core import STEPS
from mlgitops.package import short


@pytest.fixture
def reg(registry):
    registry.reset()
    yield registry
    registry.reset()


def state(reg, env="staging"):
    path = reg.root / "deploy" / f"{env}.yaml"
    return yaml.safe_load(path.read_text()) if path.exists() else None


def alias(reg, env="staging"):
    try:
        return str(reg.client().get_model_version_by_alias(reg.name, env).version)
    except Exception:
        return None


def test_promote_uploads_the_package_writes_file_moves_alias_and_tags(reg, tmp_path):
    import boto3

    from mlgitops.package import package_digest

    write_evidence(reg.root, "2")
    [p] = promote(reg.config("staging"))
    doc = state(reg)
    entry = doc["models"][MODEL]
    d2 = digest(reg.root, "2")
    assert (
        doc["env"] == "staging"
        and p.digest == entry["digest"] == d2
        and p.version == entry["version"] == "2"
        and entry["replaces"] is None
    )
    bucket = reg.config("staging").bucket_name("models")
    assert entry["artifact_uri"] == f"s3://{bucket}/{MODEL}/{d2.removeprefix('sha256:')}/model.tar.gz"
    key = entry["artifact_uri"].split("/", 3)[3]
    head = boto3.client("s3").head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"].endswith("alias/churn-staging-storage")
    boto3.client("s3").download_file(bucket, key, str(tmp_path / "model.tar.gz"))
    assert package_digest(tmp_path / "model.tar.gz") == d2
    assert entry["evidence"]["data_gate"] == "pass" and entry["evidence"]["metrics"]["roc_auc"] == pytest.approx(0.802)
    assert (reg.root / "deploy" / "staging.yaml").read_text().startswith("# Written by `mlgitops promote`")
    assert alias(reg) == "2"
    tags = reg.client().get_model_version(reg.name, "2").tags
    assert "mlgitops.staging.promoted_at" in tags and '"data_gate": "pass"' in tags["mlgitops.staging.evidence"]
    assert [d.status for d in drift(reg.config("staging"))] == ["in-sync"]


def test_digest_is_the_identity_and_promoting_what_is_served_is_a_noop(reg):
    d1, d2, d3 = (digest(reg.root, v) for v in ("1", "2", "3"))  # version 3 re-registers version 1's artifacts
    assert d1 != d2 and d1 == d3
    write_evidence(reg.root, "1")
    promote(reg.config("staging"))
    before = (reg.root / "deploy" / "staging.yaml").read_bytes()
    write_evidence(reg.root, "3")
    [p] = promote(reg.config("staging"))  # the same model under another version number
    assert p.action == "noop" and p.digest == d1 and (reg.root / "deploy" / "staging.yaml").read_bytes() == before
    import shutil

    shutil.rmtree(reg.root / ".mlgitops" / "evidence")  # no candidate at all: nothing to do
    assert promote(reg.config("staging"))[0].action == "noop"


@pytest.mark.parametrize(
    "kind", ["no-evidence", "failed-eval", "failed-data", "wrong-version", "other-env", "stale-champion"]
)
def test_gate_refuses_and_changes_nothing(reg, kind):
    write_evidence(reg.root, "1")
    promote(reg.config("staging"))
    before = (reg.root / "deploy" / "staging.yaml").read_bytes()
    import shutil

    shutil.rmtree(reg.root / ".mlgitops" / "evidence")
    version = None
    if kind == "failed-eval":
        write_evidence(reg.root, "2", verdict="fail")
    elif kind == "failed-data":
        write_evidence(reg.root, "2", data_ok=False)
    elif kind == "wrong-version":  # the evidence is about another model than the one asked for
        write_evidence(reg.root, "2", model_digest="sha256:" + "0" * 64)
        version = "2"
    elif kind == "other-env":  # a passing evaluation made against local (no champion) does not promote to staging
        write_evidence(reg.root, "2", target="local")
    elif kind == "stale-champion":  # made while staging served nothing; it serves v1 now
        (reg.root / "deploy" / "staging.yaml").rename(reg.root / "staging.yaml.bak")
        write_evidence(reg.root, "2")
        (reg.root / "staging.yaml.bak").rename(reg.root / "deploy" / "staging.yaml")
    if kind == "no-evidence":  # no new candidate: staging keeps what it serves
        assert promote(reg.config("staging"))[0].action == "noop"
        write_evidence(reg.root, "2", model_digest="sha256:" + "0" * 64, verdict="fail")
    with pytest.raises(GateFailed):
        promote(reg.config("staging"), version=version)
    assert (reg.root / "deploy" / "staging.yaml").read_bytes() == before
    assert alias(reg) == "1"
    if kind in ("other-env", "stale-champion"):  # the refusal names the command that makes the right evidence
        with pytest.raises(GateFailed, match=r"mlgitops evaluate --env staging --model churn-classifier"):
            promote(reg.config("staging"), version=version)


def test_force_skips_evidence_but_is_recorded(reg):
    with pytest.raises(BadInput, match="--force needs --version"):
        promote(reg.config("staging"), MODEL, force=True)
    [p] = promote(reg.config("staging"), MODEL, version=4, force=True)
    assert p.version == "4" and state(reg)["models"][MODEL]["evidence"]["forced"] is True


def test_prod_requires_staging_first_and_carries_its_evidence(reg):
    with pytest.raises(GateFailed, match="staging first"):
        promote(reg.config("prod"))
    write_evidence(reg.root, "2")
    promote(reg.config("staging"))
    with pytest.raises(GateFailed, match="only the model in deploy/staging.yaml"):
        promote(reg.config("prod"), version=3)
    # prod's overlay changed after the pipeline ran: an old policy check that passed is never reused
    write_evidence(reg.root, "2", mandatory=0, env="prod")
    config = (reg.root / "mlgitops.yaml").read_text()
    weaker = "serving: {instance_type: ml.c5.xlarge, min_instances: 2}"
    assert weaker in config
    (reg.root / "mlgitops.yaml").write_text(
        config.replace(weaker, "serving: {instance_type: ml.c5.xlarge, min_instances: 1}")
    )
    try:
        with pytest.raises(
            GateFailed, match=r"promotion-policy-check: policy check of prod: 1 mandatory policy finding"
        ):
            promote(reg.config("prod"))
    finally:
        (reg.root / "mlgitops.yaml").write_text(config)
    assert state(reg, "prod") is None
    shutil.rmtree(
        reg.root / ".mlgitops" / "evidence"
    )  # a fresh clone: prod needs no evidence run, only staging's record
    [p] = promote(reg.config("prod"))
    entry = state(reg, "prod")["models"][MODEL]
    assert (
        p.version == "2"
        and entry["evidence"]["stage_from"] == "staging"
        and entry["evidence"]["policy_verdict"] == "pass"
    )
    assert (
        entry["digest"] == state(reg)["models"][MODEL]["digest"]
    )  # its own copy, in the prod bucket, of the same model
    assert entry["artifact_uri"].startswith(f"s3://{reg.config('prod').bucket_name('models')}/")
    assert entry["evidence"]["metrics"] == state(reg)["models"][MODEL]["evidence"]["metrics"]
    assert alias(reg, "prod") == "2"


def test_unknown_model_and_version_are_bad_input(reg):
    with pytest.raises(BadInput, match="no model 'nope'"):
        promote(reg.config("staging"), "nope")
    with pytest.raises(BadInput, match="version 999"):
        promote(reg.config("staging"), MODEL, version=999)
    write_evidence(reg.root, "1", model_digest="sha256:" + "0" * 64)  # evidence about a model nobody has
    with pytest.raises(BadInput, match="in neither the evidence run"):
        promote(reg.config("staging"))
    with pytest.raises(BadInput, match="not a model digest"):
        promote(reg.config("staging"), MODEL, digest="v2")
    assert state(reg) is None


def test_digest_selects_the_model_by_identity(reg):
    write_evidence(reg.root, "2")
    with pytest.raises(
        GateFailed, match="the evaluation is for model"
    ):  # evidence about another model than the one asked for
        promote(reg.config("staging"), MODEL, digest=digest(reg.root, "1"))
    [p] = promote(reg.config("staging"), MODEL, digest=digest(reg.root, "2"))
    assert p.digest == digest(reg.root, "2") and p.version == "2" and alias(reg) == "2"


def test_cas_refuses_when_file_changed_underneath(reg):
    write_evidence(reg.root, "2")
    promote(reg.config("staging"))
    write_evidence(reg.root, "3")
    with pytest.raises(GateFailed, match="changed underneath"):
        promote(reg.config("staging"), expect_current=None)
    assert state(reg)["models"][MODEL]["version"] == "2" and alias(reg) == "2"


def test_cas_refuses_when_alias_moved_outside(reg):
    write_evidence(reg.root, "2")
    promote(reg.config("staging"))
    reg.client().set_registered_model_alias(reg.name, "staging", "5")
    assert [d.status for d in drift(reg.config("staging"))] == ["alias-differs"]
    write_evidence(reg.root, "3")
    with pytest.raises(GateFailed, match="moved it outside"):
        promote(reg.config("staging"))
    assert state(reg)["models"][MODEL]["version"] == "2"
    [d] = fix_drift(reg.config("staging"))
    assert d.status == "in-sync" and alias(reg) == "2"
    promote(reg.config("staging"))
    assert alias(reg) == "3"


def _fresh_db_connections() -> None:
    """A forked child must not reuse the parent's pooled SQLite connections (MLflow caches its stores)."""
    import gc

    from sqlalchemy.engine import Engine

    for obj in gc.get_objects():
        if isinstance(obj, Engine):
            obj.dispose(close=False)


def _racer(root, version, barrier, queue):
    from mlgitops.config import load

    _fresh_db_connections()

    barrier.wait()
    try:  # forced: the race is on the lock and compare-and-set, not on the gates (tested above) or twenty plans at once
        promote(load(root, "staging"), MODEL, version=version, force=True, expect_current=digest(root, "1"))
        queue.put((version, "won"))
    except GateFailed:
        queue.put((version, "refused"))
    except BaseException as exc:  # noqa: BLE001 - report anything else to the parent
        queue.put((version, f"error: {exc!r}"))


@pytest.mark.slow
def test_twenty_concurrent_promotions_exactly_one_wins(reg):
    write_evidence(reg.root, "1")
    promote(reg.config("staging"))
    racers = reg.versions[3:22:2]  # even versions: one model, not the one served (promoting what is served is a no-op)
    assert len(racers) == 10
    ctx = mp.get_context("fork")
    barrier, queue = ctx.Barrier(len(racers)), ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(reg.root, v, barrier, queue)) for v in racers]
    for p in procs:
        p.start()
    import queue as queue_mod
    import time

    results, reads, deadline = {}, 0, time.monotonic() + 180
    while len(results) < len(procs) and time.monotonic() < deadline:
        doc = state(reg)  # readers during the race always see a whole file
        assert doc["models"][MODEL]["version"] in reg.versions
        reads += 1
        try:
            version, outcome = queue.get(timeout=0.01)
            results[version] = outcome
        except queue_mod.Empty:
            pass
    assert len(results) == len(procs) and reads > 0
    for p in procs:
        p.join(60)
    winners = [v for v, r in results.items() if r == "won"]
    assert sorted(set(results.values()) - {"won"}) == ["refused"], results
    assert len(winners) == 1
    entry = state(reg)["models"][MODEL]
    assert entry["version"] == winners[0] and entry["replaces"] == digest(reg.root, "1")  # no lost update
    assert alias(reg) == winners[0]


def _promote_in_child(root, version, fail_at):
    _fresh_db_connections()
    os.environ[FAIL_AT_ENV] = fail_at
    from mlgitops.config import load

    promote(load(root, "staging"), MODEL, version=version)


@pytest.mark.parametrize("step", STEPS)
def test_promotion_killed_at_each_step_leaves_consistent_state(reg, step):
    write_evidence(reg.root, "2")
    promote(reg.config("staging"))
    write_evidence(reg.root, "3")
    proc = mp.get_context("fork").Process(target=_promote_in_child, args=(reg.root, "3", step))
    proc.start()
    proc.join(120)
    assert proc.exitcode == 97
    entry = state(reg)["models"][MODEL]  # parses
    assert entry["version"] in ("2", "3")
    [d] = drift(reg.config("staging"))
    assert d.status in ("in-sync", "alias-behind")
    assert (entry["version"] == "3") == (step not in ("gated", "locked"))
    # re-running the same promotion completes it; the lock was released by the dead process
    promote(reg.config("staging"), version="3")
    assert state(reg)["models"][MODEL]["version"] == "3" and state(reg)["models"][MODEL]["replaces"] == digest(
        reg.root, "2"
    )
    assert [d.status for d in drift(reg.config("staging"))] == ["in-sync"]


@pytest.fixture
def git_repo(reg):
    """The project as a git repository (rollback reads the committed history of deploy/<env>.yaml)."""
    git = lambda *a: subprocess.run(["git", *a], cwd=reg.root, capture_output=True, text=True, check=True)  # noqa: E731
    env = dict(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e")
    os.environ.update(env)
    git("init", "-q")
    git("commit", "-q", "--allow-empty", "-m", "init")
    try:
        yield git
    finally:
        for k in env:
            os.environ.pop(k)
        shutil.rmtree(reg.root / ".git")


def test_rollback_walks_the_replaces_chain_of_the_git_history(reg, git_repo):
    a, b = digest(reg.root, "1"), digest(reg.root, "2")
    for v in ("1", "2", "3"):  # A, B, then A again under another version number
        write_evidence(reg.root, v)
        promote(reg.config("staging"), commit=True)
    assert state(reg)["models"][MODEL]["replaces"] == b
    [r] = rollback(reg.config("staging"), commit=True)
    entry = state(reg)["models"][MODEL]
    assert (r.digest, r.version, r.replaces) == (b, "2", a) and alias(reg) == "2"
    assert entry["evidence"]["action"] == "rollback" and entry["evidence"]["rolled_back_from"] == a
    assert entry["evidence"]["metrics"]["roc_auc"] == pytest.approx(0.802)
    [r] = rollback(reg.config("staging"), commit=True)  # B replaced the first A: back along the chain, not to and fro
    assert (r.digest, r.version, r.replaces) == (a, "1", None) and alias(reg) == "1"
    with pytest.raises(GateFailed, match="nothing earlier"):
        rollback(reg.config("staging"))
    rollback(reg.config("staging"), to=b.removeprefix("sha256:")[:12])
    assert state(reg)["models"][MODEL]["digest"] == b
    with pytest.raises(BadInput, match="not in the git history"):
        rollback(reg.config("staging"), to="0" * 12)
    assert [d.status for d in drift(reg.config("staging"))] == ["in-sync"]
    assert "rollback: churn-classifier" in git_repo("log", "-1", "--format=%s").stdout


def test_drift_reports_each_disagreement(reg):
    cfg = reg.config("staging")
    assert [d.status for d in drift(cfg)] == ["not-promoted"]
    reg.client().set_registered_model_alias(reg.name, "staging", "2")
    assert [d.status for d in drift(cfg)] == ["not-in-file"]
    write_evidence(reg.root, "2")
    with pytest.raises(GateFailed, match="moved it outside"):
        promote(cfg)
    assert [d.status for d in fix_drift(cfg)] == ["not-promoted"] and alias(reg) is None
    promote(cfg)
    reg.client().delete_registered_model_alias(reg.name, "staging")
    [d] = drift(cfg)
    assert (d.status, d.file_digest, d.alias_version, d.drifted) == ("alias-missing", digest(reg.root, "2"), None, True)
    for mv in reg.client().search_model_versions(
        f"name='{reg.name}'"
    ):  # a store that never saw the model: git is the record
        reg.client().delete_model_version_tag(reg.name, mv.version, "mlgitops.digest")
    [d] = drift(cfg)
    assert (d.status, d.drifted) == ("not-in-store", False)


def test_corrupt_state_file_is_bad_input(reg):
    (reg.root / "deploy").mkdir()
    (reg.root / "deploy" / "staging.yaml").write_text("models: [\n")
    with pytest.raises(BadInput, match="staging.yaml:.*invalid YAML"):
        drift(reg.config("staging"))


def test_commit_creates_git_commit_listing_evidence(reg):
    with pytest.raises(BadInput, match="not a git repository"):
        promote(reg.config("staging"), MODEL, version=1, force=True, commit=True)
    assert state(reg) is None and alias(reg) is None  # checked before anything changes
    promote(reg.config("staging"), MODEL, version=1, force=True)
    git = lambda *a: subprocess.run(["git", *a], cwd=reg.root, capture_output=True, text=True, check=True)  # noqa: E731
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "init")
    os.environ.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e")
    try:
        write_evidence(reg.root, "2")
        [p] = promote(reg.config("staging"), commit=True)
        message = git("log", "-1", "--format=%B").stdout
        changed = git("show", "--name-only", "--format=", "HEAD").stdout.split()
        [again] = promote(
            reg.config("staging"), commit=True
        )  # a re-run changes nothing: no failed commit, no "commit it by hand"
        commits = git("rev-list", "--count", "HEAD").stdout.strip()
    finally:
        for k in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
            os.environ.pop(k)
        import shutil

        shutil.rmtree(reg.root / ".git")
    assert p.commit and len(p.commit) == 40 and changed == ["deploy/staging.yaml"]
    assert again.action == "noop" and again.commit is None and commits == "2"
    assert message.startswith(
        f"promote: {MODEL} {short(digest(reg.root, '2'))} to staging (replaces {short(digest(reg.root, '1'))})"
    )
    assert "data_gate: pass" in message and "git_sha: abc123" in message and "roc_auc=0.802" in message


def test_lock_held_too_long_is_a_refusal(reg):
    from filelock import FileLock

    from mlgitops.evidence.state import lock_path
    from mlgitops.gitops.core import _locked

    other = FileLock(str(lock_path(reg.root, "staging")), is_singleton=False)
    with other:
        with pytest.raises(GateFailed, match="held the lock"):
            with _locked(reg.root, "staging", timeout=0.2):
                pass
    with _locked(reg.root, "staging", timeout=0.2):  # free again once released
        pass


def test_an_exempted_promotion_rule_lets_the_promotion_through_and_is_recorded(reg):
    import datetime as dt

    write_evidence(reg.root, "2", verdict="fail")
    config = (reg.root / "mlgitops.yaml").read_text()
    until = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    exempt = (
        f"policies: {{enforcement: advisory, budget_usd_month: 500, exemptions: [{{rule: promotion-evaluation, "
        f"resource: 'model:{MODEL}', reason: 'hotfix, reviewed by hand', expires: {until}}}]}}"
    )
    (reg.root / "mlgitops.yaml").write_text(
        config.replace("policies: {enforcement: advisory, budget_usd_month: 500}", exempt)
    )
    try:
        [p] = promote(reg.config("staging"))
    finally:
        (reg.root / "mlgitops.yaml").write_text(config)
    assert p.version == "2" and p.evidence.exempted == ["promotion-evaluation"]
    assert state(reg)["models"][MODEL]["evidence"]["exempted"] == ["promotion-evaluation"]
    from mlgitops.evidence.state import read
    from mlgitops.gitops.core import commit_message

    assert "exempted: promotion-evaluation" in commit_message(
        MODEL, "staging", read(reg.root, "staging").models[MODEL], "promote"
    )
    reg.reset()
    write_evidence(reg.root, "2", verdict="fail")
    with pytest.raises(
        GateFailed, match=r"promotion-evaluation: sha256:[0-9a-f]{12} did not pass evaluation"
    ):  # without it: refused
        promote(reg.config("staging"))


def _cli(reg, *args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "--project", str(reg.root), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env or os.environ.copy(),
    )


def test_a_missing_bucket_or_no_credentials_is_bad_input_and_writes_nothing(reg, tmp_path):
    write_evidence(reg.root, "2")
    config = (reg.root / "mlgitops.yaml").read_text()
    (reg.root / "mlgitops.yaml").write_text(
        config.replace("region: eu-west-1,", "region: eu-west-1, name_suffix: nobkt1,")
    )
    try:
        r = _cli(reg, "promote", "--env", "staging")
    finally:
        (reg.root / "mlgitops.yaml").write_text(config)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert (
        "s3://churn-staging-models-nobkt1 of staging does not exist: run `pulumi up` for the staging stack first"
        in r.stderr
    )
    assert state(reg) is None

    bare = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_ACCESS_KEY") and not k.startswith("AWS_SECRET")
    }
    bare.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    r = _cli(reg, "promote", "--env", "staging", env=bare)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "no AWS credentials to upload the package to s3://churn-staging-models" in r.stderr
    assert state(reg) is None and alias(reg) is None


def test_a_package_that_is_not_the_recorded_model_is_refused_before_promoting_or_serving(reg):
    import boto3

    from mlgitops.bucket import cache_dir
    from mlgitops.serving import served_version

    write_evidence(reg.root, "2")
    promote(reg.config("staging"))
    good = (reg.root / "deploy" / "staging.yaml").read_text()
    a, b = digest(reg.root, "1"), digest(reg.root, "2")
    (reg.root / "deploy" / "staging.yaml").write_text(
        good.replace(f"digest: {b}", f"digest: {a}")
    )  # the file lies about its package
    shutil.rmtree(reg.root / ".mlgitops" / "packages", ignore_errors=True)
    with pytest.raises(BadInput, match=rf"holds model {b}, but {a} was recorded"):
        promote(reg.config("prod"))
    with pytest.raises(BadInput, match="was recorded"):
        served_version(reg.config("staging"), MODEL)
    assert state(reg, "prod") is None

    (reg.root / "deploy" / "staging.yaml").write_text(good)  # a tampered model.tar.gz in the bucket
    entry = state(reg)["models"][MODEL]
    bucket, key = entry["artifact_uri"][5:].split("/", 1)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=b"\x1f\x8b not a model")
    shutil.rmtree(reg.root / ".mlgitops" / "packages", ignore_errors=True)
    r = _cli(reg, "promote", "--env", "prod")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "not a readable model package" in r.stderr, r.stderr
    assert state(reg, "prod") is None
    (cache_dir(reg.root, MODEL, b) / "model.tar.gz").unlink()
    r = _cli(reg, "serve", "--env", "staging")
    assert r.returncode == 2 and "not a readable model package" in r.stderr


def test_promotion_records_the_serving_image_and_ci_gets_its_build_context(reg, tmp_path):
    import json

    from mlgitops.image import sources

    write_evidence(reg.root, "2")
    promote(reg.config("staging"))
    image = state(reg)["models"][MODEL]["image"]
    assert image.startswith("churn-staging-images:serving-")
    r = _cli(reg, "image", "--env", "staging", "--context", str(tmp_path / "ctx"), "--json")
    assert r.returncode == 0, r.stderr
    [built] = json.loads(r.stdout)["images"]
    assert f"{built['repository']}:{built['tag']}" == image
    assert sorted(p.name for p in (tmp_path / "ctx" / MODEL).iterdir()) == ["Dockerfile", "requirements.txt", "serve"]
    shutil.copytree(sources(tmp_path / "none"), reg.root / "serving")  # the project's own serving/, then changed
    try:
        (reg.root / "serving" / "Dockerfile").write_text(
            (reg.root / "serving" / "Dockerfile").read_text() + "LABEL x=y\n"
        )
        r = _cli(reg, "image", "--env", "staging", "--context", str(tmp_path / "ctx2"))
    finally:
        shutil.rmtree(reg.root / "serving")
    assert r.returncode == 2 and "promote it again" in r.stderr and "Traceback" not in r.stderr
