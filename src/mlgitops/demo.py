"""`mlgitops demo`: what a newcomer runs first. A sample project from the template, end to end, on this machine:

scaffold (cookiecutter) -> `pipeline pr --env local` -> promote the model to `local` (a git commit of deploy/local.yaml)
-> serve it on 127.0.0.1 -> score a few holdout rows -> stop the server. Everything stays in the
project directory afterwards, so the next commands (`mlgitops report`, `mlgitops serve --env local`) work there.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

ROWS = 5


def say(text: str) -> None:
    print(text, flush=True)  # in order with the progress lines on stderr, even through a pipe


def run_demo(directory: Path | None = None) -> int:
    """Run the demo in `directory` (new or empty; default a new temporary one); returns the exit code."""
    from mlgitops.pipeline import ConsoleProgress, run_pr
    from mlgitops.scaffold import git_init, new

    t0 = time.perf_counter()
    dest = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="mlgitops-demo-")) / "mlgitops-demo"
    root = new(dest)
    committed = git_init(root)
    say(f"1. scaffolded the project template into {root}" + (" (git repository, first commit)" if committed else ""))

    say("2. mlgitops pipeline pr --env local")
    progress = ConsoleProgress()
    try:
        run = run_pr(root, "local", progress=progress)  # evaluated against what local serves: the only place it may go
    finally:
        progress.close()
    if run.exit_code:
        say(f"the pipeline said no (exit {run.exit_code}); report: {run.report}")
        return run.exit_code

    from mlgitops.config import load
    from mlgitops.data import load_frame
    from mlgitops.gitops import promote
    from mlgitops.serving import predict, served_version, start

    config = load(root, "local")
    model = next(iter(config.models))
    [promotion] = promote(config, model, commit=committed)  # GitOps: the deploy file changes by commit
    say(f"3. promoted {model} {promotion.digest[:19]} to local: {Path(promotion.path).relative_to(root)}"
        + (f", commit {promotion.commit[:12]}" if promotion.commit else ""))

    spec = config.models[model]
    holdout = load_frame(config, spec.holdout or spec.dataset).head(ROWS)
    _, _, path = served_version(config, model)  # its package, verified
    with start(path, config.tracking_uri()) as server:
        say(f"4. serving it at {server.url}/invocations")
        predictions = predict(server.url, holdout.drop(columns=[spec.target]))
    say(f"5. scored {len(predictions)} holdout rows ({spec.target}: predicted / actual): "
        + ", ".join(f"{p}/{a}" for p, a in zip(predictions, holdout[spec.target])))
    say(f"   server stopped. Report: {run.report}")
    say(f"demo done in {time.perf_counter() - t0:.0f} s. Next: cd {root} && mlgitops report | less; mlgitops serve --env local")
    return 0
