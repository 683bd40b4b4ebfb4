"""Regenerate docs/evidence.schema.json from the evidence records (a test checks it is current)."""

from pathlib import Path

from mlgitops.evidence.schema import render

if __name__ == "__main__":
    path = Path(__file__).parents[1] / "docs" / "evidence.schema.json"
    path.write_text(render())
    print(f"wrote {path}")
