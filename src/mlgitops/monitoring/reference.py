"""What live traffic is compared with: the training dataset of the model an environment serves, pinned by the data
digest `deploy/<env>.yaml` recorded at promotion; and the dataset's own GX suite, run over the captured inputs by
the data gate's code (schema and ranges are checked once, in one place)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput

if TYPE_CHECKING:
    from mlgitops.config import Project
    from mlgitops.evidence import DeployEntry, ExpectationResult


def training_data(config: Project, model: str, entry: DeployEntry) -> tuple[Any, str]:
    """(the training dataset as the gate reads it, its digest); BadInput when the deploy file records no digest or
    the bytes at the dataset's path are no longer the ones the model was trained on."""
    from mlgitops.data import load_frame
    from mlgitops.data.readers import stream_digest

    spec = config.models[model]
    dataset = config.datasets[spec.dataset]
    where = f"deploy/{config.env}.yaml"
    recorded = entry.data_digests.get("train")
    if not recorded:
        raise BadInput(
            f"{where}: {model} records no training data digest (promoted with --force from a registry version?), so "
            f"its reference data is unknown; promote it from a pipeline run (`mlgitops pipeline pr`, then `mlgitops promote`)"
        )
    location = config.resolve(dataset.path)
    found = stream_digest(location)
    if found.removeprefix("sha256:") != recorded.removeprefix("sha256:"):
        raise BadInput(
            f"{location}: its bytes (sha256 {found.removeprefix('sha256:')[:12]}) are not the training data of {model} "
            f"recorded in {where} (sha256 {recorded.removeprefix('sha256:')[:12]}); restore the file it was trained on "
            f"(e.g. `git checkout` the commit {where} names) before comparing traffic with it"
        )
    return load_frame(config, spec.dataset), recorded


def schema_check(config: Project, model: str, inputs: Any) -> list[ExpectationResult]:
    """The dataset's suite over the captured inputs: the expectations on a column the requests carry (the target and
    table-wide ones, such as a row count, do not apply to traffic)."""
    from mlgitops.data.gate import (
        _context,
        _result,
        dataset_suite,
        run_suite,
    )
    from mlgitops.data.suites import SuiteSpec
    from mlgitops.speed import gx_decimal_scan

    spec = config.models[model]
    if not config.datasets[spec.dataset].suite:
        return []
    suite = dataset_suite(config, spec.dataset)
    present = set(inputs.columns) - {spec.target}
    kept = [
        e for e in suite.expectations if isinstance(e["kwargs"].get("column"), str) and e["kwargs"]["column"] in present
    ]
    if not kept:
        return []
    with gx_decimal_scan():
        result = run_suite(_context(), f"{spec.dataset}-live", SuiteSpec(suite.name, suite.path, kept), inputs)
    return [
        _result(r, str(getattr(r.expectation_config.severity, "value", r.expectation_config.severity)))
        for r in result.results
    ]
