"""One PNG per drifted feature: the reference's and the live distribution on the same axes (shares, not counts,
since the samples differ in size), histograms over common bins for a number, bars per value for a category."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from mlgitops.evidence import FeatureKind, atomic_write

REFERENCE, LIVE = "#b0b0b0", "#d62728"


def distribution(path: Path, name: str, kind: FeatureKind, reference: Any, live: Any, psi: float) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    fig, ax = plt.subplots(figsize=(6, 3.2))
    if kind == FeatureKind.NUMBER:
        ref = pd.to_numeric(pd.Series(reference), errors="coerce").dropna().to_numpy()
        cur = pd.to_numeric(pd.Series(live), errors="coerce").dropna().to_numpy()
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=30).tolist()
        ax.hist(
            ref,
            bins=edges,
            weights=np.full(len(ref), 1 / max(len(ref), 1)),
            color=REFERENCE,
            label=f"reference (n={len(ref)})",
        )
        ax.hist(
            cur,
            bins=edges,
            weights=np.full(len(cur), 1 / max(len(cur), 1)),
            color=LIVE,
            alpha=0.55,
            label=f"live (n={len(cur)})",
        )
    else:
        ref = pd.Series(reference).dropna().astype(str).value_counts(normalize=True)
        cur = pd.Series(live).dropna().astype(str).value_counts(normalize=True)
        values = sorted(set(ref.index) | set(cur.index))
        x = np.arange(len(values))
        ax.bar(
            x - 0.2,
            [ref.get(v, 0.0) for v in values],
            0.4,
            color=REFERENCE,
            label=f"reference (n={int(pd.Series(reference).notna().sum())})",
        )
        ax.bar(
            x + 0.2,
            [cur.get(v, 0.0) for v in values],
            0.4,
            color=LIVE,
            label=f"live (n={int(pd.Series(live).notna().sum())})",
        )
        ax.set_xticks(x, values, rotation=30, ha="right")
    ax.set_title(f"{name}: reference vs live (PSI {psi:.2f})")
    ax.set_ylabel("share of rows")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return atomic_write(path, buf.getvalue())
