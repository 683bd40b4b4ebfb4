"""Per-feature drift, live against reference: the population stability index (how far the distribution moved)
and a two-sample test (whether chance explains it): Kolmogorov-Smirnov for numbers, chi-squared for categories.

Many features tested at once would raise false alarms at the nominal rate each, so the p-values are adjusted
with Benjamini-Hochberg; a feature drifts only when the adjusted p-value is below the rate, the PSI reaches its
threshold and the window holds enough rows. Pure functions of arrays: `mlgitops.monitoring` reads the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlgitops.evidence import FeatureDrift, FeatureKind

if TYPE_CHECKING:
    from mlgitops.config.schema import Monitoring

EPSILON = 1e-4  # the share given to an empty bin: a bin the reference never saw makes a large, finite PSI


@dataclass
class Comparison:
    kind: FeatureKind
    psi: float
    test: str
    statistic: float
    p_value: float
    reference_n: int
    live_n: int


def kind_of(reference: Any) -> FeatureKind:
    """Numbers are the reference's numeric (not boolean) columns; everything else is a category."""
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(reference) and not pd.api.types.is_bool_dtype(reference)
    return FeatureKind.NUMBER if numeric else FeatureKind.CATEGORY


def psi_of(reference_counts: Any, live_counts: Any) -> float:
    """PSI = sum((live - ref) * ln(live / ref)) over the bins' shares."""
    import numpy as np

    ref = np.maximum(reference_counts / max(reference_counts.sum(), 1), EPSILON)
    live = np.maximum(live_counts / max(live_counts.sum(), 1), EPSILON)
    return float(np.sum((live - ref) * np.log(live / ref)))


def numbers(reference: Any, live: Any, bins: int) -> Comparison:
    """PSI over the reference's quantile bins (ties merged: a column of few values gets a bin per value) and KS."""
    import numpy as np
    from scipy import stats

    ref = np.asarray(reference, dtype="float64")
    cur = np.asarray(live, dtype="float64")
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    if not len(ref) or not len(cur):
        return Comparison(FeatureKind.NUMBER, 0.0, "ks", 0.0, 1.0, len(ref), len(cur))
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    live_counts = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    ks = stats.ks_2samp(ref, cur)
    return Comparison(
        FeatureKind.NUMBER,
        psi_of(ref_counts, live_counts),
        "ks",
        float(ks.statistic),
        float(ks.pvalue),
        len(ref),
        len(cur),
    )


def categories(reference: Any, live: Any) -> Comparison:
    """PSI over the values seen in either sample, and the chi-squared test of the 2 x values contingency table."""
    import pandas as pd
    from scipy import stats

    ref = pd.Series(reference).dropna().astype(str)
    cur = pd.Series(live).dropna().astype(str)
    if not len(ref) or not len(cur):
        return Comparison(FeatureKind.CATEGORY, 0.0, "chi2", 0.0, 1.0, len(ref), len(cur))
    counts = pd.concat([ref.value_counts().rename("ref"), cur.value_counts().rename("live")], axis=1).fillna(0)
    table = counts[["ref", "live"]].to_numpy(dtype="float64").T
    if table.shape[1] < 2:
        chi2, p = 0.0, 1.0  # one value on both sides: nothing moved
    else:
        chi2, p = (float(v) for v in stats.chi2_contingency(table, correction=False)[:2])
    return Comparison(FeatureKind.CATEGORY, psi_of(table[0], table[1]), "chi2", chi2, p, len(ref), len(cur))


def compare(reference: Any, live: Any, bins: int) -> Comparison:
    """The comparison the reference column's kind calls for; live values that are not numbers count as missing."""
    import pandas as pd

    if kind_of(reference) == FeatureKind.NUMBER:
        return numbers(reference, pd.to_numeric(pd.Series(live), errors="coerce"), bins)
    return categories(reference, live)


def adjust(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (compare with the false discovery rate)."""
    if not p_values:
        return []
    from scipy import stats

    return [float(p) for p in stats.false_discovery_control(p_values, method="bh")]


def verdicts(names: list[str], comparisons: list[Comparison], settings: Monitoring) -> list[FeatureDrift]:
    """One FeatureDrift per column, drifted first (largest PSI first), p-values adjusted across the columns."""
    adjusted = adjust([c.p_value for c in comparisons])
    out = [drift(name, c, p, settings) for name, c, p in zip(names, comparisons, adjusted, strict=False)]
    return sorted(out, key=lambda f: (not f.drifted, -f.psi))


def drift(name: str, c: Comparison, adjusted: float, settings: Monitoring) -> FeatureDrift:
    drifted = c.live_n >= settings.min_rows and c.psi >= settings.psi and adjusted < settings.p_value
    return FeatureDrift(
        name=name,
        kind=c.kind,
        drifted=drifted,
        psi=c.psi,
        test=c.test,
        statistic=c.statistic,
        p_value=adjusted,
        raw_p_value=c.p_value,
        reference_n=c.reference_n,
        live_n=c.live_n,
    )
