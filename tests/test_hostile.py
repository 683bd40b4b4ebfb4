"""Hostile files and bad input, as an attacker or a careless user would bring them: every case ends in exit 2
(or 1 where a gate or the user's own code said no), with one readable message, no traceback of ours, nothing
written, within a timeout and under 500 MB peak RSS in the child process."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1]
EXAMPLE = SUITE / "examples" / "churn"
MAX_RSS_MB = 500
TIMEOUT = 45  # seconds; a hang (FIFO, /dev/zero, billion laughs) is caught here, not by a benchmark
MLGITOPS = str(Path(sys.executable).parent / "mlgitops")  # the console script, as users run it


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    rss_mb: float

    @property
    def text(self) -> str:
        return self.out + self.err


# The child is started by a tiny launcher: Linux carries a process's peak RSS across fork and exec, so a child
# forked straight from a pytest worker that has grown to 500 MB would report 500 MB whatever it does.
LAUNCHER = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = TIMEOUT) -> Outcome:
    """`mlgitops ARGS` in a child; its exit code, output and peak RSS, the whole group killed at `timeout`."""
    out_path, err_path, rss_path = cwd.parent / ".out", cwd.parent / ".err", cwd.parent / ".rss"
    inherited = {k: v for k, v in os.environ.items() if k != "MLGITOPS_RUN_ID"}
    full_env = {**inherited, "PYTHONPATH": str(SUITE / "src"), "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", LAUNCHER, str(rss_path), MLGITOPS, *args],
            cwd=cwd,
            env=full_env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            pytest.fail(f"mlgitops {' '.join(args)} ran past {timeout}s (hang or unbounded work)")
    outcome = Outcome(
        code,
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
        int(rss_path.read_text()) / 1024,
    )
    for path in (out_path, err_path, rss_path):
        path.unlink()
    return outcome


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` with its size and mtime (a FIFO or device is listed, never opened)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*filenames, *dirnames]:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (
                st.st_size if not p.is_dir() else 0,
                st.st_mtime_ns if not p.is_dir() else 0,
            )
    return out


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".mlgitops"))
    (root / "deploy").mkdir(exist_ok=True)
    return root


# --- file builders ------------------------------------------------------------------------------

CONFIG = EXAMPLE / "mlgitops.yaml"


def laughs(levels: int = 9) -> str:
    """Nine levels of "billion laughs": 9**9 values from a few hundred bytes."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def write(rel: str, data: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            path.unlink()
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return setup


def special(rel: str, kind: str) -> Callable[[Path], None]:
    """`rel` as a FIFO, a directory, a symlink to /dev/zero, or a symlink to a directory."""

    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            path.unlink()
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "dir":
            path.mkdir()
        elif kind == "devzero":
            path.symlink_to("/dev/zero")
        elif kind == "dirlink":
            path.symlink_to(root / "data")

    return setup


def edit_config(old: str, new: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        text = (root / "mlgitops.yaml").read_text()
        assert old in text
        (root / "mlgitops.yaml").write_text(text.replace(old, new))

    return setup


def both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for s in setups:
            s(root)

    return setup


BASE = CONFIG.read_text()
SUITE_JSON = "expectations/churn.json"
DEPLOY = "deploy/staging.yaml"


@dataclass
class Case:
    setup: Callable[[Path], None]
    args: list[str]
    message: str  # regex the output must contain
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {
    # mlgitops.yaml: not a regular file, too big, not UTF-8, not plain YAML, too deep, too wide
    "config-devzero": Case(
        special("mlgitops.yaml", "devzero"),
        ["config", "check"],
        r"mlgitops.yaml: is a character device, not a regular file",
    ),
    "config-fifo": Case(special("mlgitops.yaml", "fifo"), ["config", "check"], r"mlgitops.yaml: is a FIFO"),
    "config-directory": Case(special("mlgitops.yaml", "dir"), ["config", "check"], r"mlgitops.yaml: is a directory"),
    "config-link-to-directory": Case(
        special("mlgitops.yaml", "dirlink"), ["config", "check"], r"mlgitops.yaml: is a directory"
    ),
    "config-dangling-link": Case(
        lambda r: ((r / "mlgitops.yaml").unlink(), (r / "mlgitops.yaml").symlink_to(r / "nowhere")),
        ["config", "check"],
        r"mlgitops.yaml: not found",
    ),
    "config-2MiB": Case(
        write("mlgitops.yaml", BASE + "#" * (2 << 20) + "\n"),
        ["config", "check"],
        r"mlgitops.yaml:1: file is \d+ bytes; the limit is 1048576",
    ),
    "config-not-utf8": Case(
        write("mlgitops.yaml", BASE.encode() + b"owner2: caf\xe9\n"),
        ["config", "check"],
        r"mlgitops.yaml:\d+:12: not valid UTF-8 \(byte 0xe9\)",
    ),
    "config-nul": Case(
        write("mlgitops.yaml", BASE + "x: a\x00b\n"), ["config", "check"], r"mlgitops.yaml:\d+:5: NUL byte"
    ),
    "config-custom-tag": Case(
        write("mlgitops.yaml", BASE + "x: !foo bar\n"),
        ["config", "check"],
        r"mlgitops.yaml:\d+:4: tag '!foo' is not allowed",
    ),
    "config-custom-tag-mapping": Case(
        write("mlgitops.yaml", BASE + "x: !foo {a: 1}\n"),
        ["config", "check"],
        r"mlgitops.yaml:\d+:4: tag '!foo' is not allowed",
    ),
    "config-python-name": Case(
        write("mlgitops.yaml", BASE + "x: !!python/name:os.system\n"),
        ["config", "check"],
        r"tag 'tag:yaml.org,2002:python/name:os.system' is not allowed",
    ),
    "config-python-object": Case(
        write("mlgitops.yaml", BASE + "x: !!python/object/apply:os.system [echo hi]\n"),
        ["config", "check"],
        r"is not allowed",
    ),
    "config-int-abc": Case(
        write("mlgitops.yaml", BASE + "x: !!int abc\n"),
        ["config", "check"],
        r"mlgitops.yaml:\d+:4: 'abc' is not a valid int",
    ),
    "config-timestamp": Case(
        write("mlgitops.yaml", BASE + "x: !!timestamp notadate\n"),
        ["config", "check"],
        r"'notadate' is not a valid timestamp",
    ),
    "config-set": Case(
        write("mlgitops.yaml", BASE + "x: !!set {a, b}\n"),
        ["config", "check"],
        r"tag 'tag:yaml.org,2002:set' is not allowed",
    ),
    "config-huge-int": Case(
        write("mlgitops.yaml", BASE + "x: " + "9" * 5000 + "\n"), ["config", "check"], r"is not a valid int"
    ),
    "config-deep-lists": Case(
        write("mlgitops.yaml", BASE + "x: " + "[" * 5000 + "]" * 5000 + "\n"),
        ["config", "check"],
        r"mlgitops.yaml:\d+:\d+: nested more than 64 levels",
    ),
    "config-deep-maps": Case(
        write("mlgitops.yaml", BASE + "x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n"),
        ["config", "check"],
        r"nested more than 64 levels",
    ),
    "config-laughs": Case(
        write("mlgitops.yaml", BASE + laughs()),
        ["config", "check"],
        r"mlgitops.yaml:\d+:\d+: YAML expands to more than 100000 values",
    ),
    "config-recursive-alias": Case(
        write("mlgitops.yaml", BASE + "x: &a [*a]\n"), ["config", "check"], r"YAML expands to more than"
    ),
    "config-complex-key": Case(
        write("mlgitops.yaml", BASE + "? [a, b]\n: 1\n"), ["config", "check"], r"keys must be plain strings"
    ),
    # paths the config names stay inside the project
    "dataset-outside": Case(
        edit_config("path: data/train.csv", "path: " + "../" * 20 + "etc/passwd"),
        ["config", "check"],
        r"mlgitops.yaml:7:\d+: datasets.train.path: '(\.\./)+etc/passwd' resolves to /etc/passwd, outside the project",
    ),
    "dataset-symlink-outside": Case(
        both(
            lambda r: (r / "data" / "evil.csv").symlink_to("/etc/passwd"),
            edit_config("path: data/train.csv", "path: data/evil.csv"),
        ),
        ["data", "validate"],
        r"datasets.train.path: 'data/evil.csv' resolves to /etc/passwd, outside the project",
    ),
    "dataset-other-scheme": Case(
        edit_config("path: data/train.csv", "path: https://example.com/x.csv"),
        ["config", "check"],
        r"only project-relative paths and s3:// URIs",
    ),
    "suite-outside": Case(
        edit_config("suite: expectations/churn.json}\n  holdout", "suite: /etc/hosts}\n  holdout"),
        ["config", "check"],
        r"datasets.train.suite: '/etc/hosts' resolves to /etc/hosts, outside the project",
    ),
    "entry-point-outside": Case(
        lambda r: (shutil.rmtree(r / "src" / "churn"), (r / "src" / "churn").symlink_to(EXAMPLE / "src" / "churn")),
        ["config", "check"],
        r"models.churn-classifier.entry_point: 'churn.train:train': src/churn resolves to .*, outside the project",
    ),
    "run-id-traversal": Case(
        lambda r: None,
        ["data", "validate"],
        r"MLGITOPS_RUN_ID='../../../x': a run id must be one folder name",
        env={"MLGITOPS_RUN_ID": "../../../x"},
    ),
    "run-id-slash": Case(lambda r: None, ["report"], r"MLGITOPS_RUN_ID='a/b'", env={"MLGITOPS_RUN_ID": "a/b"}),
    # credentials do not belong in a versioned file
    "tracking-password": Case(
        edit_config('uri: "sqlite:///.mlgitops/mlflow.db"', 'uri: "https://bob:hunter2@mlflow.example.com"'),
        ["config", "check"],
        r"mlgitops.yaml:27:\d+: tracking.uri: 'https://\*\*\*@mlflow.example.com' carries credentials .*MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
    ),
    # deploy/<env>.yaml arrives in pull requests too
    "deploy-laughs": Case(
        write(DEPLOY, "env: staging\nmodels: {}\n" + laughs()),
        ["drift", "--env", "staging"],
        r"staging.yaml:\d+:\d+: YAML expands to more than 100000 values",
    ),
    "deploy-directory": Case(special(DEPLOY, "dir"), ["drift", "--env", "staging"], r"staging.yaml: is a directory"),
    "deploy-fifo": Case(special(DEPLOY, "fifo"), ["drift", "--env", "staging"], r"staging.yaml: is a FIFO"),
    "deploy-devzero": Case(
        special(DEPLOY, "devzero"), ["drift", "--env", "staging"], r"staging.yaml: is a character device"
    ),
    "deploy-deep": Case(
        write(DEPLOY, "models: " + "[" * 5000 + "]" * 5000 + "\n"),
        ["drift", "--env", "staging"],
        r"staging.yaml:1:\d+: nested more than 64 levels",
    ),
    "deploy-not-utf8": Case(
        write(DEPLOY, b"env: staging\nmodels: {}\nx: \xff\n"),
        ["drift", "--env", "staging"],
        r"staging.yaml:3:4: not valid UTF-8 \(byte 0xff\)",
    ),
    "deploy-entry-empty": Case(
        write(DEPLOY, "env: staging\nmodels: {churn-classifier: {}}\n"),
        ["drift", "--env", "staging"],
        r"staging.yaml: not a valid DeployState: models.churn-classifier.digest: Field required",
    ),
    "deploy-entry-string": Case(
        write(DEPLOY, "env: staging\nmodels: {churn-classifier: '3'}\n"),
        ["promote", "--env", "staging"],
        r"staging.yaml: not a valid DeployState: models.churn-classifier",
    ),
    "evidence-list": Case(
        write(".mlgitops/evidence/local/evaluation/churn-classifier.json", "[1, 2]"),
        ["promote", "--env", "staging"],
        r"churn-classifier.json: not a valid Evaluation: expected a JSON object, found list",
    ),
    "evidence-corrupt-report": Case(
        write(".mlgitops/evidence/local/training/churn-classifier.json", "{oops"),
        ["report"],
        r"churn-classifier.json:1:2: invalid JSON",
    ),
    "deploy-custom-tag": Case(
        write(DEPLOY, "env: staging\nmodels: !!python/object/apply:os.system [id]\n"),
        ["drift", "--env", "staging"],
        r"staging.yaml:2:9: tag .* is not allowed",
    ),
    # suites
    "suite-not-utf8": Case(
        write(SUITE_JSON, b'{"name": "s\xfe", "expectations": []}'),
        ["data", "validate"],
        r"churn.json:1:12: not valid UTF-8 \(byte 0xfe\)",
    ),
    "suite-deep": Case(
        write(SUITE_JSON, "[" * 100_000 + "]" * 100_000),
        ["data", "validate"],
        r"churn.json:1: nested more than 64 levels",
    ),
    "suite-fifo": Case(special(SUITE_JSON, "fifo"), ["data", "validate"], r"churn.json: is a FIFO"),
    "suite-invalid-json": Case(
        write(SUITE_JSON, '{"name": "s",\n "expectations": [,]}'),
        ["data", "validate"],
        r"churn.json:2:19: invalid JSON",
    ),
    "suite-kwargs-string": Case(
        write(SUITE_JSON, '{"name": "s", "expectations": [{"type": "expect_column_to_exist", "kwargs": "x"}]}'),
        ["data", "validate"],
        r"churn.json: expectations\[0\] \(expect_column_to_exist\): `kwargs` must be an object",
    ),
    # policy check: the plan file, and nothing written before a refusal
    "plan-not-utf8": Case(
        write("bad-plan.json", b'{"stack": "\xc3\x28"}'),
        ["policy", "check", "--env", "staging", "--plan", "bad-plan.json"],
        r"bad-plan.json:1:12: not valid UTF-8",
    ),
    "plan-deep": Case(
        write("bad-plan.json", "[" * 100_000),
        ["policy", "check", "--env", "staging", "--plan", "bad-plan.json"],
        r"bad-plan.json:1: nested more than 64",
    ),
    "plan-list": Case(
        write("bad-plan.json", "[1, 2]"),
        ["policy", "check", "--env", "staging", "--plan", "bad-plan.json"],
        r"bad-plan.json: not a valid Plan: expected a JSON object",
    ),
    "plan-fifo": Case(
        special("bad-plan.json", "fifo"),
        ["policy", "check", "--env", "staging", "--plan", "bad-plan.json"],
        r"bad-plan.json: is a FIFO",
    ),
    "policy-evidence-missing": Case(
        lambda r: None,
        ["policy", "check", "--env", "staging", "--evidence", "nope"],
        r"--evidence nope: no such evidence folder",
    ),
    # serve: the port is checked before anything starts
    "serve-port-too-big": Case(
        lambda r: None, ["serve", "--env", "staging", "--port", "70000"], r"--port 70000: not a TCP port; use 1-65535"
    ),
    "serve-port-negative": Case(
        lambda r: None, ["serve", "--env", "staging", "--port", "-1"], r"--port -1: not a TCP port"
    ),
    # scaffolding
    "new-one-letter-slug": Case(
        lambda r: None, ["new", "q", "--no-input"], r"project_slug 'q': use at least 2 characters"
    ),
}


SLOW_CASES: dict[str, Case] = {  # these import Great Expectations in the child (10-15 s on a busy machine)
    "suite-min-value-abc": Case(
        write(
            SUITE_JSON,
            '{"name": "s", "expectations": [{"type": "expect_column_values_to_be_between", '
            '"kwargs": {"column": "tenure_months", "min_value": "abc"}}]}',
        ),
        ["data", "validate"],
        r"churn.json: expectations\[0\] \(expect_column_values_to_be_between\): invalid kwargs: min_value",
    ),
}


@pytest.mark.parametrize("name", [*CASES, *(pytest.param(n, marks=pytest.mark.slow) for n in SLOW_CASES)])
def test_hostile_input_is_refused_cleanly(name: str, project: Path) -> None:
    case = CASES.get(name) or SLOW_CASES[name]
    case.setup(project)
    before = snapshot(project.parent)
    result = run_cli(case.args, project, case.env)
    assert result.code == case.code, result.text
    assert "Traceback" not in result.text, result.text
    assert re.search(case.message, result.err), result.err
    assert len(result.err.strip().splitlines()) <= 4, result.err  # one message, not a dump
    assert result.out == ""
    assert snapshot(project.parent) == before, "wrote files before refusing"
    assert result.rss_mb < MAX_RSS_MB, f"peak RSS {result.rss_mb:.0f} MB"
    assert "hunter2" not in result.text


def test_busy_port_is_bad_input_naming_the_reason(project: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        before = snapshot(project.parent)
        result = run_cli(["serve", "--env", "staging", "--port", str(port)], project)
    assert result.code == 2 and "Traceback" not in result.text
    assert f"--port {port}: 127.0.0.1:{port} is not free (address already in use)" in result.err
    assert snapshot(project.parent) == before


def test_failed_server_start_relays_the_reason_not_a_traceback() -> None:
    from mlgitops.serving import failure_reason

    log = (
        'Traceback (most recent call last):\n  File "x", line 1\n'
        "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 5000): address already in use\n"
    )
    assert failure_reason(log) == "address already in use"
    assert (
        failure_reason('Traceback (most recent call last):\n  File "x"\nMlflowException: no such model\n')
        == "MlflowException: no such model"
    )


def test_new_makes_a_git_repository_with_a_first_commit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()  # no git identity configured: the fallback author is used
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home)}
    (tmp_path / "work").mkdir()
    result = run_cli(["new", "acme-risk", "--no-input"], tmp_path / "work", env)
    assert result.code == 0, result.text
    root = tmp_path / "work" / "acme-risk"
    log = subprocess.run(
        ["git", "log", "--format=%an|%s"], cwd=root, capture_output=True, text=True, env={**os.environ, **env}
    ).stdout
    assert log.strip() == "mlgitops|scaffold from the mlgitops template"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout
    assert status == ""  # everything rendered is in the first commit

    nested = run_cli(["new", "inner", "--no-input"], root, env)  # inside that work tree: no nested repository
    assert (
        nested.code == 0 and not (root / "inner" / ".git").exists() and f"inside the git work tree {root}" in nested.out
    )

    plain = run_cli(["new", "plain", "--no-input", "--no-git"], tmp_path / "work", env)
    assert plain.code == 0 and not (tmp_path / "work" / "plain" / ".git").exists()


# --- training: the user's own code fails (exit 1, their traceback, one line of ours) -------------

TRAIN = "src/churn/train.py"
TRAINING_CASES: dict[str, tuple[str, str]] = {
    "sys-exit-0": (
        "import sys\ndef train(ctx):\n    sys.exit(0)\n",
        r"churn.train:train called sys.exit\(0\) instead of returning the fitted model",
    ),
    "raise-system-exit": ("def train(ctx):\n    raise SystemExit('bye')\n", r"called sys.exit\('bye'\)"),
    "syntax-error": ("def train(ctx)\n    pass\n", r"importing churn.train:train failed: SyntaxError"),
    "import-error": (
        "raise ImportError('boom')\ndef train(ctx):\n    pass\n",
        r"importing churn.train:train failed: ImportError",
    ),
    "missing-dependency": (
        "import no_such_dependency_xyz\ndef train(ctx):\n    pass\n",
        r"importing churn.train:train failed: ModuleNotFoundError: No module named 'no_such_dependency_xyz'",
    ),
    "unserializable": (
        "import threading\nclass M:\n    def __init__(self):\n        self.lock = threading.Lock()\n    def predict(self, X):\n"
        "        return [0] * len(X)\ndef train(ctx):\n    return M()\n",
        r"the model churn.train:train returned cannot be saved with mlflow.sklearn",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TRAINING_CASES))
def test_failing_entry_point_is_exit_1_with_the_users_traceback(name: str, project: Path) -> None:
    source, message = TRAINING_CASES[name]
    (project / TRAIN).write_text(source)
    result = run_cli(["train"], project, timeout=120)
    assert result.code == 1, result.text
    assert re.search(message, result.err), result.err
    frames = [ln for ln in result.err.splitlines() if ln.strip().startswith('File "')]
    assert not [f for f in frames if "site-packages" in f or "/src/mlgitops/" in f], (
        result.err
    )  # only the user's frames, no MLflow's
    if name in ("syntax-error", "import-error", "missing-dependency"):
        assert "churn/train.py" in result.err  # their traceback points at their file
    assert not list((project / ".mlgitops" / "evidence").glob("*/training/*.json"))  # nothing trained, nothing recorded
    assert result.rss_mb < MAX_RSS_MB  # MLflow, sklearn and pandas loaded: about 330 MB
