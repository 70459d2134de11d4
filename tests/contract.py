"""The assessment contract (contracts/assessment.schema.json, the repository's copy of the shared one)."""

import json
from pathlib import Path

import jsonschema

SCHEMA = json.loads((Path(__file__).parents[1] / "contracts" / "assessment.schema.json").read_text(encoding="utf-8"))
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def assessment_errors(assessment: dict) -> list[str]:
    """Every way ``assessment`` breaks the contract (empty when valid)."""
    return [error.message for error in _VALIDATOR.iter_errors(assessment)]
