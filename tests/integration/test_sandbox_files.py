"""The synthetic patients: generated from charts.py, valid FHIR, fake, coded only from the knowledge base, and
dated so that load-sandbox can make every date current."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from service.knowledge import load_knowledge
from service.sandbox import load_manifest
from service.sandbox.data import DATE_KEYS, SANDBOX_URL, is_relative, read_json, resources_of

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox"
FILES = sorted(p for p in SANDBOX.rglob("*.json"))
# Code systems whose codes carry clinical meaning for the service: every such code must be in a knowledge value set.
CLINICAL_SYSTEMS = ("http://loinc.org", "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm",
                    "http://terminology.hl7.org/CodeSystem/icd-o-3", "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "http://www.whocc.no/atc")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}(-\d{2})?(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$")


def _walk(node, key=None):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key)
    else:
        yield key, node


def _codings(node):
    if isinstance(node, dict):
        if isinstance(node.get("system"), str) and isinstance(node.get("code"), str):
            yield node["system"], node["code"]
        for value in node.values():
            yield from _codings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _codings(item)


def test_the_committed_files_are_exactly_what_the_generator_writes():
    """Regenerating changes nothing: charts.py and the JSON files cannot drift apart."""
    generator = runpy.run_path(str(SANDBOX / "generate.py"))
    expected = {name: generator["render"](content) for name, content in generator["files"]().items()}
    committed = {str(p.relative_to(SANDBOX)): p.read_text(encoding="utf-8") for p in FILES}
    assert committed.keys() == expected.keys()
    assert [name for name in expected if committed[name] != expected[name]] == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SANDBOX)))
def test_every_file_is_a_valid_fhir_bundle_marked_as_synthetic_with_relative_dates(path):
    bundle = read_json(path)
    Bundle.model_validate(bundle)
    assert is_relative(bundle)
    for resource in resources_of(bundle):
        assert {"code": "HTEST"}.items() <= resource["meta"]["security"][0].items(), resource["id"]


def test_every_manifest_patient_has_its_files_and_every_file_is_in_the_manifest():
    manifest = load_manifest(SANDBOX)
    assert {p.bundle_path for p in manifest.patients} == set((SANDBOX / "patients").glob("*.json"))
    assert {p.orders_path for p in manifest.patients} == set((SANDBOX / "orders").glob("*.json"))
    for patient in manifest.patients:
        ids = {r["id"] for r in resources_of(read_json(patient.bundle_path)) if r["resourceType"] == "Patient"}
        assert ids == {patient.id}


def test_patients_are_clearly_fake_and_their_record_ids_are_unique_and_prefixed():
    seen: set[str] = set()
    for path in FILES:
        for resource in resources_of(read_json(path)):
            key = f"{resource['resourceType']}/{resource['id']}"
            assert key not in seen, key
            seen.add(key)
            assert resource["id"].startswith("inoz-"), key
            if resource["resourceType"] == "Patient":
                assert resource["name"][0]["family"].startswith("Zztest-")
                assert resource["identifier"][0]["system"].startswith(SANDBOX_URL)


def test_every_clinical_code_in_the_sandbox_comes_from_the_knowledge_base():
    knowledge = load_knowledge()
    known = {code for value_set in knowledge.value_sets.values() for code in value_set.codes}
    used = {pair for path in FILES for pair in _codings(read_json(path)) if pair[0] in CLINICAL_SYSTEMS}
    assert sorted(used - known) == []


def test_every_date_in_the_files_sits_under_an_element_the_loader_shifts():
    """A date under any other name would not move with the day of loading and the patient would go stale."""
    strays = {(path.name, key, value) for path in FILES for key, value in _walk(read_json(path))
              if isinstance(value, str) and _DATE_LIKE.match(value) and key not in DATE_KEYS}
    assert strays == set()
