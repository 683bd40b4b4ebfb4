"""`mlgitops demo`: what a newcomer runs first. A sample project from the template, end to end, on this machine:

scaffold (cookiecutter) -> `pipeline pr --env local` -> promote the model to `local` (a git commit of deploy/local.yaml)
-> serve it on 127.0.0.1 with data capture -> score a few holdout rows -> send a batch with one feature shifted ->
stop the server -> `mlgitops monitor --env local` catches the shift. Everything stays in the project directory
afterwards, so the next commands (`mlgitops report`, `mlgitops monitor --env local`) work there.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

ROWS = 5
SHIFTED_REQUESTS, SHIFTED_ROWS = (
    150,
    10,
)  # enough that the sampled share (serving.data_capture) clears monitoring.min_rows


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
    from mlgitops.monitoring import monitor, render_text
    from mlgitops.serving import capture_for, predict, served_version, start

    config = load(root, "local")
    model = next(iter(config.models))
    [promotion] = promote(config, model, commit=committed)  # GitOps: the deploy file changes by commit
    say(
        f"3. promoted {model} {promotion.digest[:19]} to local: {Path(promotion.path).relative_to(root)}"
        + (f", commit {promotion.commit[:12]}" if promotion.commit else "")
    )

    spec = config.models[model]
    holdout = load_frame(config, spec.holdout or spec.dataset).head(ROWS)
    _, _, path = served_version(config, model)  # its package, verified
    folder, percent = capture_for(config, model)
    with start(path, config.tracking_uri(), capture=folder, sample_percent=percent) as server:
        say(f"4. serving it at {server.url}/invocations" + (f", capturing {percent}% of requests" if folder else ""))
        predictions = predict(server.url, holdout.drop(columns=[spec.target]))
        say(
            f"5. scored {len(predictions)} holdout rows ({spec.target}: predicted / actual): "
            + ", ".join(f"{p}/{a}" for p, a in zip(predictions, holdout[spec.target], strict=False))
        )
        # training rows: every other feature then follows the reference exactly, so only the shifted one may drift
        feature = shifted_traffic(server.url, load_frame(config, spec.dataset).drop(columns=[spec.target]))
        say(
            f"6. sent {SHIFTED_REQUESTS} requests of {SHIFTED_ROWS} training rows with `{feature}` shifted by two standard deviations"
        )
    say(f"   server stopped. Report: {run.report}")
    if folder is None:
        say(f"demo done in {time.perf_counter() - t0:.0f} s (data capture is off: nothing to monitor)")
        return 0
    say("7. mlgitops monitor --env local")
    report = monitor(config, model)
    say("   " + render_text(report).rstrip().replace("\n", "\n   "))
    caught = [f.name for f in report.features if f.drifted]
    say(
        f"   {'caught the shift of ' + ', '.join(caught) if caught else 'the shift was not caught'} (exit code {1 if report.drifted else 0} from the CLI)"
    )
    from mlgitops.evidence import Run
    from mlgitops.report import build, write

    evidence = Run.current(root)
    write(build(evidence, root), evidence)
    say(f"   report updated with the monitoring section and its plots: {evidence.report_md}")
    say(
        f"demo done in {time.perf_counter() - t0:.0f} s. Next: cd {root} && mlgitops report | less; mlgitops monitor --env local"
    )
    return 0


def shifted_traffic(url: str, rows: Any) -> str:
    """Send `rows` with their first numeric feature moved by two standard deviations; return its name."""
    from mlgitops.serving import predict

    feature = next((c for c in rows.columns if rows[c].dtype.kind == "f"), None) or next(
        c for c in rows.columns if rows[c].dtype.kind == "i"
    )
    step = 2 * rows[feature].std()
    shifted = rows.assign(**{feature: rows[feature] + (step if rows[feature].dtype.kind == "f" else round(step))})
    for i in range(SHIFTED_REQUESTS):
        start = (i * SHIFTED_ROWS) % max(len(shifted) - SHIFTED_ROWS, 1)
        predict(url, shifted.iloc[start : start + SHIFTED_ROWS])
    return feature
