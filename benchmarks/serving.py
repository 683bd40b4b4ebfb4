"""Local scoring endpoint vs in-process predict of the same model, measured in the same run.

Prints p50/p99 latency and throughput for 1-row and 1000-row requests, the endpoint's p50 overhead over
in-process predict (issue target: within +5 ms for 1 row), and, separately, what data capture adds to the
endpoint's p50 (a second server capturing every request; target: at most +1 ms for 1 row).
Run: `python benchmarks/serving.py [N]`.
"""

from __future__ import annotations

import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def quantiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]


def main(n: int = 200) -> None:
    import mlflow.pyfunc
    import pandas as pd
    from gitops_helpers import FEATURES, MODEL, make_registry, stack_buckets

    from mlgitops.gitops import promote
    from mlgitops.serving import payload, served_version, start

    reg = make_registry(Path(tempfile.mkdtemp(prefix="mlgitops-bench-")))
    stack_buckets(reg.root)  # staging's models bucket, on the moto server main() runs under
    cfg = reg.config("staging")
    promote(cfg, MODEL, version=1, force=True)
    _, _, path = served_version(cfg, MODEL)
    model = mlflow.pyfunc.load_model(path)
    data = pd.read_csv(reg.root / "data" / "train.csv")[FEATURES].astype("float64")
    frames = {1: data.head(1), 1000: pd.concat([data] * 2).head(1000)}
    capture = Path(tempfile.mkdtemp(prefix="mlgitops-bench-capture-"))
    with (
        start(path, cfg.tracking_uri()) as server,
        start(path, cfg.tracking_uri(), capture=capture, sample_percent=100) as capturing,
    ):
        conns = {}
        for where, srv in (("endpoint", server), ("capturing", capturing)):
            u = urlparse(srv.url)
            conns[where] = http.client.HTTPConnection(u.hostname, u.port)  # keep-alive, as a real client would
        print(f"{'rows':>5} {'where':<11} {'p50 ms':>8} {'p99 ms':>8} {'rows/s':>10}")
        for rows, frame in frames.items():
            body = payload(frame)
            times: dict[str, list[float]] = {"in-process": [], "endpoint": [], "capturing": []}
            reps = n if rows == 1 else max(20, n // 10)
            for i in range(reps + 5):
                for where in times:  # interleaved, so a busy moment of the machine hits all three alike
                    t = time.perf_counter()
                    if where == "in-process":
                        model.predict(frame)
                    else:
                        conns[where].request("POST", "/invocations", body, {"Content-Type": "application/json"})
                        resp = conns[where].getresponse()
                        resp.read()
                        assert resp.status == 200
                    if i >= 5:  # warm-up
                        times[where].append((time.perf_counter() - t) * 1000)
            results = {}
            for where, samples in times.items():
                p50, p99 = quantiles(samples)
                results[where] = p50
                print(
                    f"{rows:>5} {where:<11} {p50:>8.2f} {p99:>8.2f} {rows * 1000 * len(samples) / sum(samples):>10.0f}"
                )
            extra = results["endpoint"] - results["in-process"]
            print(
                f"{rows:>5} endpoint/in-process p50 ratio {results['endpoint'] / results['in-process']:.2f}x, +{extra:.2f} ms"
                + (f" (target +5 ms: {'met' if extra <= 5 else 'missed'})" if rows == 1 else "")
            )
            cost = results["capturing"] - results["endpoint"]
            print(
                f"{rows:>5} data capture p50 cost {cost:+.2f} ms"
                + (f" (target +1 ms: {'met' if cost <= 1 else 'missed'})" if rows == 1 else "")
            )
        for conn in conns.values():
            conn.close()
    captured = sum(1 for p in capture.rglob("*.jsonl") for _ in p.open())
    print(f"captured {captured} records under {capture}")


if __name__ == "__main__":
    from moto_helpers import moto_server

    with moto_server():
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
