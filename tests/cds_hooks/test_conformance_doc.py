"""docs/conformance.md cannot drift: every test it names exists, and every Service-side requirement id of the
CDS Hooks 2.0 requirement list has a row."""

from __future__ import annotations

import ast
import csv
import re
from pathlib import Path


ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "conformance.md").read_text()
REQUIREMENTS = ROOT / "docs" / "reference" / "service-requirements-2.0.tsv"  # the Inferno extraction, copied


def _functions(path: Path) -> set[str]:
    return {node.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)}


def test_every_test_the_table_names_exists():
    named = set(re.findall(r"`([\w/]+\.py)::(\w+)`", DOC))

    assert len(named) > 50
    missing = [f"{file}::{name}" for file, name in sorted(named)
               if not (ROOT / "tests" / file).exists() or name not in _functions(ROOT / "tests" / file)]
    assert missing == []


def test_every_service_side_requirement_has_a_row():
    with REQUIREMENTS.open() as handle:
        ids = [row["id"] for row in csv.DictReader(handle, delimiter="\t") if "Service" in row["actors"]]
    rows = set(re.findall(r"^\| (\d+) \|", DOC, flags=re.M))

    assert len(ids) == 120 and sorted(set(ids) - rows, key=int) == []
