"""The suite as a package: the sdist and wheel carry the template, composite actions, schema, CrossGuard pack and
empty MLflow store; a project rendered from the wheel has exactly the files of one rendered from the checkout;
the version comes from git; and, slow, a fresh venv holding only the wheel runs `mlgitops new`, the project's
`make setup` and `make test`, and `mlgitops demo`."""

from __future__ import annotations

import filecmp
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from filelock import FileLock

from mlgitops.scaffold import TEMPLATE_DIR
from mlgitops.suite import Origin, Source, source_of

SUITE = TEMPLATE_DIR.parents[1]
SHIPPED = ("templates/project", "ci", "policies", "docs/mlgitops.schema.json")
PROVENANCE = {".cruft.json", "requirements-mlgitops.txt", "README.md"}  # name where each render came from


def tracked(*paths: str) -> list[str]:
    """The suite files under `paths` as git tracks them (dotfiles included, caches not)."""
    out = subprocess.run(
        ["git", "ls-files", "--", *paths], cwd=SUITE, capture_output=True, text=True, check=True
    ).stdout
    return sorted(out.split())


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
    """sdist and wheel built once per run, as the release workflow builds them (xdist workers share them)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # this run's, never an older run's
    out = shared / "dist"
    with FileLock(str(shared / "dist.lock")):
        if not any(out.glob("*.whl")):
            done = subprocess.run(
                [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(SUITE)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def wheel(dist: Path) -> Path:
    [path] = dist.glob("mlgitops-*.whl")
    return path


def test_twine_check_is_clean(dist):
    files = sorted(str(p) for p in dist.iterdir())
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.count("PASSED") == 2, done.stdout + done.stderr


def test_the_wheel_and_sdist_carry_every_suite_file(dist):
    names = set(zipfile.ZipFile(wheel(dist)).namelist())
    files = tracked(*SHIPPED)
    assert any("/.github/workflows/pr.yml" in f for f in files) and any(f.endswith("/.gitignore") for f in files)
    missing = [f for f in files if f"mlgitops/_suite/{f}" not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert {"mlgitops/mlflow_store.sql", "mlgitops/_suite/source.json"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    built = json.loads(zipfile.ZipFile(wheel(dist)).read("mlgitops/_suite/source.json"))
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=SUITE, capture_output=True, text=True).stdout.strip()
    assert built["commit"] == head and (built["url"] or built["path"])

    [sdist] = dist.glob("mlgitops-*.tar.gz")
    with tarfile.open(sdist) as tar:
        inside = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert not [f for f in files if f not in inside], "the sdist lacks suite files"
    assert "suite-source.json" in inside


def test_the_version_comes_from_git(dist):
    version = re.match(r"mlgitops-(.+)-py3-none-any\.whl", wheel(dist).name).group(1)
    tags = subprocess.run(
        ["git", "tag", "--points-at", "HEAD"], cwd=SUITE, capture_output=True, text=True
    ).stdout.split()
    if f"v{version}" not in tags:
        assert ".dev" in version, f"{version}: an untagged commit builds a development version"
    meta = zipfile.ZipFile(wheel(dist)).read(f"mlgitops-{version}.dist-info/METADATA").decode()
    assert f"\nVersion: {version}\n" in meta


def render(python_path: str, where: Path) -> Path:
    """`mlgitops new proj --no-input` with the package found at `python_path`."""
    where.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": python_path, "HOME": str(where)}
    env.pop("MLGITOPS_TEMPLATE", None)
    # the template's one random default (the bucket name suffix) fixed, so two renders can be compared
    done = subprocess.run(
        [sys.executable, "-m", "mlgitops", "new", "proj", "--no-input", "--set", "name_suffix=k3x9q2"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return where / "proj"


def files(root: Path) -> set[str]:
    """The rendered files; not `.git/`, whose objects differ wherever a rendered file does (`mlgitops new` commits them)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != ".git"}


def test_a_project_from_the_wheel_has_exactly_the_files_of_one_from_the_checkout(dist, tmp_path):
    unpacked = tmp_path / "wheel"
    zipfile.ZipFile(wheel(dist)).extractall(unpacked)
    from_wheel = render(str(unpacked), tmp_path / "a")
    from_checkout = render(str(SUITE / "src"), tmp_path / "b")
    assert files(from_wheel) == files(from_checkout)
    assert {
        ".github/workflows/pr.yml",
        ".github/actions/setup/action.yml",
        ".gitignore",
        ".cruft.json",
        ".mlgitops.schema.json",
        "requirements-mlgitops.txt",
    } <= files(from_wheel)
    differ = [f for f in files(from_wheel) if not filecmp.cmp(from_wheel / f, from_checkout / f, shallow=False)]
    assert set(differ) <= PROVENANCE, differ

    pin = (from_wheel / "requirements-mlgitops.txt").read_text().splitlines()
    assert pin[-1].startswith("mlgitops==0.") and "# LOCAL-ONLY" in pin[-2]  # a dev build found by path of this machine
    assert (from_checkout / "requirements-mlgitops.txt").read_text().splitlines()[-1] == str(SUITE)
    built = json.loads((unpacked / "mlgitops" / "_suite" / "source.json").read_text())
    recorded = json.loads((from_wheel / ".cruft.json").read_text())
    assert recorded["template"] == (built["url"] or built["path"]) and recorded["commit"] == built["commit"]
    assert recorded["directory"] == "templates/project"


def test_version_option(dist, tmp_path):
    unpacked = tmp_path / "wheel"
    zipfile.ZipFile(wheel(dist)).extractall(unpacked)
    done = subprocess.run(
        [sys.executable, "-m", "mlgitops", "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(unpacked)},
    )
    version = re.match(r"mlgitops-(.+)-py3-none-any\.whl", wheel(dist).name).group(1)
    assert done.returncode == 0 and done.stdout == f"mlgitops {version}\n"


# --- which mlgitops a generated project installs ---------------------------------------------------

BUILT = {"url": "https://github.com/acme/mlgitops", "path": "/build/mlgitops", "commit": "c" * 40, "tag": "v0.3.0"}


@pytest.mark.parametrize(
    "version,direct_url,expected",
    [
        (
            "0.3.0",
            None,
            Source(
                origin=Origin.RELEASE,
                requirement="mlgitops==0.3.0",
                template=BUILT["url"],
                commit="c" * 40,
                checkout="v0.3.0",
            ),
        ),
        (
            "0.3.1.dev2+gabc1234",
            None,
            Source(
                origin=Origin.LOCAL,
                requirement="mlgitops==0.3.1.dev2+gabc1234",
                template=BUILT["url"],
                commit="c" * 40,
                checkout="v0.3.0",
            ),
        ),
        (
            "0.3.1.dev2",
            {
                "url": "https://github.com/acme/mlgitops",
                "vcs_info": {"vcs": "git", "commit_id": "d" * 40, "requested_revision": "main"},
            },
            Source(
                origin=Origin.GIT,
                requirement=f"mlgitops @ git+https://github.com/acme/mlgitops@{'d' * 40}",
                template="https://github.com/acme/mlgitops",
                commit="d" * 40,
                checkout="main",
            ),
        ),
        (
            "0.3.1.dev2+gabc1234",
            {"url": "file:///home/me/dist/mlgitops-0.3.1.dev2%2Bgabc1234-py3-none-any.whl", "archive_info": {}},
            Source(
                origin=Origin.LOCAL,
                requirement="/home/me/dist/mlgitops-0.3.1.dev2+gabc1234-py3-none-any.whl",
                template=BUILT["url"],
                commit="c" * 40,
                checkout="v0.3.0",
            ),
        ),
        (
            "0.3.0",
            {"url": "https://example.org/mlgitops-0.3.0-py3-none-any.whl", "archive_info": {}},
            Source(
                origin=Origin.URL,
                requirement="mlgitops @ https://example.org/mlgitops-0.3.0-py3-none-any.whl",
                template=BUILT["url"],
                commit="c" * 40,
                checkout="v0.3.0",
            ),
        ),
    ],
)
def test_source_of_an_install(version, direct_url, expected):
    assert source_of(version, direct_url, BUILT) == expected
    assert expected.local_only == (expected.origin == Origin.LOCAL)


def test_a_local_build_without_a_remote_records_its_checkout_path():
    found = source_of("0.1.dev3+gabc", None, {"url": None, "path": "/src/mlgitops", "commit": "e" * 40, "tag": None})
    assert found.template == "/src/mlgitops" and found.local_only


# --- slow: the wheel alone, in a fresh venv ----------------------------------------------------------


@pytest.mark.slow
def test_a_fresh_venv_with_only_the_wheel_scaffolds_sets_up_tests_and_runs_the_demo(dist, tmp_path):
    """No checkout on the path and no site packages of this venv: pip installs the wheel and its dependencies
    (from the machine's pip configuration and cache), then a newcomer's commands run with no variable set."""
    venv, home = tmp_path / "venv", tmp_path / "home"
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "MLGITOPS_TEMPLATE", "MLGITOPS", "MLGITOPS_REQUIREMENT", "PYTHONHOME")
    }
    env |= {"HOME": str(home), "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}"}
    if "PIP_CACHE_DIR" not in env:
        env["PIP_CACHE_DIR"] = str(Path.home() / ".cache" / "pip")  # HOME moved: keep the machine's pip cache

    def run(*args: str, cwd: Path = tmp_path, timeout: int = 1500) -> str:
        done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
        assert done.returncode == 0, f"{args}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        return done.stdout

    run(str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel(dist)))
    where = run(str(venv / "bin" / "python"), "-c", "import mlgitops.scaffold as s; print(s.TEMPLATE_DIR)")
    assert where.strip().startswith(str(venv)), where  # the wheel's own template, not this checkout's
    run(str(venv / "bin" / "mlgitops"), "new", "proj", "--no-input")
    project = tmp_path / "proj"
    assert (project / "requirements-mlgitops.txt").read_text().splitlines()[-1] == str(wheel(dist))
    setup = run("make", "setup", cwd=project)
    assert "local-only" in setup
    run("make", "test", cwd=project)
    demo = run(str(venv / "bin" / "mlgitops"), "demo", str(tmp_path / "demo"), timeout=900)
    assert "5. scored 5 holdout rows" in demo and "server stopped" in demo
