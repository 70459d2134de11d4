"""Property-based tests of the FHIR reading paths (dates, units, record building, the whole decision):
odd dates, missing fields, unknown units, duplicated and contradictory resources, wrong resource types in a
Bundle, huge and deeply nested bodies. Nothing crashes; what cannot be read is reported, never guessed."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_hooks import Prefetched, validate_response
from service import units
from service.fhirdates import age_in_years_bounds, date_bounds, to_datetime, whole_years
from service.knowledge import load_knowledge
from service.patient import Relevance, build_record
from service.pipeline import evaluate_chart, evaluate_orders
from tests.builders import INOTUZUMAB_RXCUI, NOW, RXNORM, UCUM, hook_request, medication_request, observation, patient

KNOWLEDGE = load_knowledge()
RELEVANCE = Relevance.from_knowledge(KNOWLEDGE)
PATIENT = "pat-1"
FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
RECORDS = settings(FAST, max_examples=40)

# --------------------------------------------------------------------------- strategies

ODD_DATES = st.one_of(
    st.dates().map(date.isoformat),
    st.datetimes(timezones=st.sampled_from([timezone.utc, None])).map(datetime.isoformat),
    st.builds("{:04d}-{:02d}-{:02d}".format, st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)),
    st.builds("{:04d}-{:02d}".format, st.integers(0, 9999), st.integers(0, 13)),
    st.integers(0, 9999).map("{:04d}".format),
    st.sampled_from(["", "yesterday", "2025-02-29", "2024-02-29", "2025-1-5", "20250105", "2025-01-01T25:00:00Z",
                     "2025-01-01T10:00:00", "2025-06-01T10:00:00+14:00", "-0001-01-01", "2025-13", "0000-00-00",
                     "2026-11-25T12:00:00.123456789Z", "２０２５-01-01"]),
    st.text(max_size=12), st.integers(), st.none(), st.floats())
KNOWN_UNITS = sorted(units._ALIASES)
UNITS = st.one_of(st.sampled_from(KNOWN_UNITS + ["KG", "Kg", "furlong", "g/dL", "mmol/L", "", "[lb_av]", "10*9/L"]),
                  st.text(max_size=8), st.none(), st.integers())
VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**20), st.text(max_size=6),
                   st.none(), st.booleans(), st.just(0), st.just(-1))
JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
                    max_leaves=12)
STATUSES = st.sampled_from(["final", "amended", "corrected", "preliminary", "registered", "entered-in-error",
                            "cancelled", "unknown", "bogus", "", None])


def maybe(strategy):
    return st.one_of(st.just(None), strategy)


def prune(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if v is not None}


def quantity(draw) -> dict | None:
    return draw(maybe(st.fixed_dictionaries({"value": VALUES, "unit": UNITS, "code": UNITS,
                                             "system": st.sampled_from([UCUM, "http://other", None])})))


@st.composite
def observations(draw, rid: str) -> dict:
    system, code = draw(st.sampled_from(sorted(RELEVANCE.observation_codes)))
    resource = {"resourceType": "Observation", "id": rid, "status": draw(STATUSES),
                "code": {"coding": [{"system": system, "code": code}]}, "subject": {"reference": f"Patient/{PATIENT}"},
                "effectiveDateTime": draw(ODD_DATES), "issued": draw(maybe(ODD_DATES)),
                "valueQuantity": quantity(draw), "valueString": draw(maybe(st.text(max_size=20))),
                draw(st.sampled_from(["extension", "note", "junk", "component", "referenceRange"])): draw(JSON)}
    return prune(resource)


@st.composite
def conditions(draw, rid: str) -> dict:
    system, code = draw(st.sampled_from(sorted(RELEVANCE.condition_codes)))
    status = lambda values: {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/x", "code": draw(values)}]}
    return prune({"resourceType": "Condition", "id": rid, "code": {"coding": [{"system": system, "code": code}]},
                  "subject": {"reference": f"Patient/{PATIENT}"}, "recordedDate": draw(ODD_DATES),
                  "onsetDateTime": draw(maybe(ODD_DATES)),
                  "clinicalStatus": status(st.sampled_from(["active", "resolved", "remission", "relapse", "x"])),
                  "verificationStatus": draw(maybe(st.just(status(st.sampled_from(
                      ["confirmed", "refuted", "entered-in-error", "provisional"])))))})


@st.composite
def medication_requests(draw, rid: str, *, draft: bool = False) -> dict:
    dose = quantity(draw)
    return prune({"resourceType": "MedicationRequest", "id": rid, "intent": draw(st.sampled_from(["order", "plan", "x"])),
                  "status": draw(st.sampled_from(["draft", "active", "completed", "stopped", "entered-in-error", "?"])),
                  "subject": {"reference": f"Patient/{PATIENT}"}, "authoredOn": draw(maybe(ODD_DATES)),
                  "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": INOTUZUMAB_RXCUI}],
                                                "text": draw(maybe(st.text(max_size=15)))},
                  "dosageInstruction": [{"doseAndRate": [{"doseQuantity": dose}]}] if dose else None})


@st.composite
def patients(draw) -> dict:
    return prune({"resourceType": "Patient", "id": PATIENT, "birthDate": draw(ODD_DATES),
                  "gender": draw(st.sampled_from(["female", "male", "other", "unknown", "x", None])),
                  "deceasedBoolean": draw(maybe(st.booleans()))})


JUNK_ENTRIES = st.one_of(
    JSON, st.just({"resource": None}), st.just({"fullUrl": "urn:x"}),
    st.builds(lambda j: {"resource": {"resourceType": "OperationOutcome", "issue": j}}, JSON),
    st.builds(lambda j: {"resource": {"resourceType": "Bundle", "entry": [{"resource": observation("29463-7")}]}}, JSON),
    st.just({"resource": observation("29463-7", value=900, unit="kg", patient_id="someone-else")}),
    st.just({"resource": patient(patient_id="someone-else")}),
    st.just({"resource": {"resourceType": "Observation", "id": "no-subject", "status": "final",
                          "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}}}),
    st.just({"resource": {"resourceType": "Basic", "id": "b"}}),
    st.just({"resource": {"resourceType": 42}}))


@st.composite
def prefetch_sets(draw) -> tuple[dict, list[dict], list[dict]]:
    """(prefetch values, the well-formed-subject resources in them, draft orders); ids repeat on purpose."""
    ids = st.sampled_from([f"r{i}" for i in range(6)])
    kept = draw(st.lists(st.one_of(ids.flatmap(observations), ids.flatmap(conditions),
                                   ids.flatmap(medication_requests)), max_size=12))
    junk = draw(st.lists(JUNK_ENTRIES, max_size=4))
    entries = [{"resource": r} for r in kept] + junk
    entries = draw(st.permutations(entries)) if entries else entries
    values = {"patient": draw(maybe(patients())), "everything": {"resourceType": "Bundle", "entry": entries},
              "odd": draw(st.one_of(st.none(), JSON.filter(lambda v: isinstance(v, dict))))}
    drafts = draw(st.lists(st.text(max_size=3).flatmap(lambda i: medication_requests(f"d{i}", draft=True)),
                           max_size=2))
    return values, kept, drafts


def record_from(values: dict, drafts: list[dict]):
    resources = list(Prefetched(values=values).resources())
    return build_record(resources, drafts, patient_id=PATIENT, now=NOW, relevance=RELEVANCE)


# --------------------------------------------------------------------------- dates

@FAST
@given(ODD_DATES)
def test_date_bounds_never_crash_and_never_invert(value):
    bounds = date_bounds(value)
    assert bounds is None or bounds[0] <= bounds[1]


@FAST
@given(ODD_DATES)
def test_to_datetime_gives_an_aware_instant_or_none(value):
    moment = to_datetime(value)
    assert moment is None or moment.tzinfo is not None


@FAST
@given(ODD_DATES, st.dates())
def test_age_bounds_from_any_birth_date_are_ordered(birth, on):
    ages = age_in_years_bounds(birth, on)
    assert ages is None or ages[0] <= ages[1]


@FAST
@given(st.dates(), st.dates())
def test_whole_years_counts_completed_birthdays(born, on):
    years = whole_years(born, on)
    if on >= born:
        assert years >= 0
        if born.year + years <= 9999 and not (born.month == 2 and born.day == 29):
            assert born.replace(year=born.year + years) <= on


# --------------------------------------------------------------------------- units

@FAST
@given(VALUES, UNITS, st.sampled_from(["kg", "cm", "mg", "mg/m2", "m2", "%", "10*9/L", "ms", "umol/L", "U/L"]))
def test_convert_never_crashes_and_refuses_what_it_cannot_read(value, unit, target):
    result = units.convert(value, unit, target)
    if not isinstance(unit, str) or not units.known(unit):
        assert result is None, "an unknown unit is never guessed"
    assert result is None or isinstance(result, float)


@FAST
@given(st.floats(min_value=1e-3, max_value=1e6), st.sampled_from([("kg", "[lb_av]"), ("cm", "[in_i]"),
                                                                  ("mg", "ug"), ("10*9/L", "10*3/uL")]))
def test_compatible_units_round_trip(value, pair):
    there = units.convert(value, pair[0], pair[1])
    assert there is not None and math.isclose(units.convert(there, pair[1], pair[0]), value, rel_tol=1e-9)


@FAST
@given(st.one_of(JSON, st.fixed_dictionaries({"value": VALUES, "unit": UNITS, "code": UNITS})))
def test_quantity_value_reads_any_json_without_crashing(value):
    read = units.quantity_value(value if isinstance(value, dict) else None)
    assert read is None or (read[0] is None or isinstance(read[0], float)) and isinstance(read[1], (str, int))


# --------------------------------------------------------------------------- the record and the decision

@RECORDS
@given(prefetch_sets())
def test_every_relevant_resource_is_either_used_or_reported_unreadable(data):
    values, kept, drafts = data
    record = record_from(values, drafts)
    used = {f"{type(r).__name__}/{r.id}" for r in record.observations + record.conditions + record.medication_requests}
    unreadable = {u.reference for u in record.unreadable}
    for raw in kept:
        reference = f"{raw['resourceType']}/{raw['id']}"
        assert reference in used or reference in unreadable, f"{reference} vanished silently"
    assert len(used) == len({f"{type(r).__name__}/{r.id}" for r in record.observations + record.conditions
                             + record.medication_requests}), "a duplicated resource is used once"
    assert all(str(getattr(r.subject, "reference", "")).endswith(f"Patient/{PATIENT}") for r in record.observations)
    assert all(reason for reason in (u.reason for u in record.unreadable))


@RECORDS
@given(prefetch_sets())
def test_the_decision_on_any_record_answers_valid_cards(data):
    values, _, drafts = data
    drafts = drafts or [medication_request(dose=1.0, dose_unit="mg")]
    record = record_from(values, drafts)
    for response in (evaluate_orders(record, KNOWLEDGE, {}), evaluate_chart(record, KNOWLEDGE, {})):
        body = response.to_json()
        assert validate_response(body) == [], body


@RECORDS
@given(prefetch_sets())
def test_unreadable_values_are_named_without_echoing_them(data):
    values, _, drafts = data
    record = record_from(values, drafts)
    for item in record.unreadable:
        assert len(item.reason) < 200 and "Testperson" not in item.reason


def test_contradictory_weights_on_the_same_day_are_not_averaged_into_a_reassuring_answer():
    weights = [observation("29463-7", value=v, unit="kg", when="2026-11-20", obs_id=f"w{v}") for v in (40, 90)]
    values = {"patient": patient("1990-01-01"), "w": {"resourceType": "Bundle", "entry": [{"resource": w} for w in weights]}}
    record = record_from(values, [medication_request(dose=1.0, dose_unit="mg")])
    assert {o.id for o in record.observations} == {"w40", "w90"}, "both are kept for the rules to see"
    assert validate_response(evaluate_orders(record, KNOWLEDGE, {}).to_json()) == []


# --------------------------------------------------------------------------- through HTTP: huge and deep bodies

def nested_extension(depth: int) -> str:
    """JSON text of an extension nested ``depth`` deep (built as text: json.dumps itself would recurse)."""
    leaf = '{"url":"http://example.org/leaf","valueString":"x"}'
    return '{"url":"http://example.org/n","extension":[' * depth + leaf + "]}" * depth


@pytest.mark.parametrize("depth", [50, 400, 5000])
def test_a_deeply_nested_resource_gets_an_answer_not_a_crash(client, depth):
    weight = observation("29463-7", value=70, unit="kg", extension=["NESTED"])
    body = hook_request(orders=[medication_request()], prefetch={"patient": patient(), "w": {
        "resourceType": "Bundle", "entry": [{"resource": weight}]}})
    raw = json.dumps(body).replace('"NESTED"', nested_extension(depth))
    response = client.post("/cds-services/inotuzumab-order-check", data=raw, content_type="application/json")
    assert response.status_code in (200, 400), response.status_code
    assert response.is_json


def test_a_huge_prefetch_bundle_is_read_within_the_body_limit(client):
    entries = [{"resource": observation("29463-7", value=60 + i % 20, unit="kg", obs_id=f"o{i}",
                                        when=f"2026-{1 + i % 11:02d}-{1 + i % 27:02d}")} for i in range(3000)]
    entries += [{"resource": observation("99999-9", value=1, unit="kg", obs_id=f"x{i}")} for i in range(3000)]
    body = hook_request(orders=[medication_request(dose=1.0, dose_unit="mg")],
                        prefetch={"patient": patient(), "bodyMeasurements": {"resourceType": "Bundle", "entry": entries}})
    response = client.post("/cds-services/inotuzumab-order-check", json=body)
    assert response.status_code == 200 and validate_response(response.json) == []


def test_a_body_over_the_limit_is_refused_with_413(make_app):
    client = make_app(max_body_bytes=10_000).test_client()
    body = hook_request(orders=[medication_request()], prefetch={"patient": patient(), "pad": {"x": "y" * 20_000}})
    assert client.post("/cds-services/inotuzumab-order-check", json=body).status_code == 413
