"""Dates in the sandbox files are written as of an anchor day and moved to the day of loading."""

from __future__ import annotations

from datetime import date

import pytest

from service.sandbox import load_manifest
from service.sandbox.data import (materialise, materialised_on, read_json, resources_of, shift_date,
                                  stamp_materialised)


@pytest.mark.parametrize("value, days, expected", [
    ("2026-11-24T06:40:00Z", 3, "2026-11-27T06:40:00Z"),
    ("2026-11-24T06:40:00+01:00", -30, "2026-10-25T06:40:00+01:00"),
    ("2022-08-19", 400, "2023-09-23"),
    ("2024-02-28", 1, "2024-02-29"),
    ("2026-12", 40, "2027-01"),
    ("2026", 3, "2026"),
    ("not a date", 5, "not a date"),
])
def test_a_date_moves_by_whole_days_keeping_its_precision_and_time_of_day(value, days, expected):
    assert shift_date(value, days) == expected


def _sandbox_bundle(name: str) -> dict:
    manifest = load_manifest()
    return read_json(next(p.bundle_path for p in manifest.patients if p.bundle_path.stem == name))


def test_a_sandbox_bundle_is_moved_so_that_its_anchor_becomes_today():
    bundle = _sandbox_bundle("stale-weight")
    moved = materialise(bundle, date(2027, 3, 1))
    assert moved["timestamp"].startswith("2027-03-01")
    before = {r["id"]: r for r in resources_of(bundle)}
    after = {r["id"]: r for r in resources_of(moved)}
    weight = next(r for r in after.values() if r.get("code", {}).get("coding", [{}])[0].get("code") == "29463-7")
    assert weight["effectiveDateTime"].startswith("2027-01-15")   # 45 days before 2027-03-01
    assert before[weight["id"]]["effectiveDateTime"].startswith("2026-10-11")   # 45 days before the anchor
    assert bundle == _sandbox_bundle("stale-weight"), "the file's content is not changed in place"


def test_materialising_twice_on_the_same_day_changes_nothing():
    bundle = _sandbox_bundle("eligible-child")
    once = materialise(bundle, date(2027, 5, 5))
    assert materialise(once, date(2027, 5, 5)) == once


def test_a_bundle_without_the_sandbox_tag_keeps_its_dates():
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": "2020-01-01T00:00:00Z",
              "entry": [{"resource": {"resourceType": "Patient", "id": "p", "birthDate": "2010-05-05"}}]}
    assert materialise(bundle, date(2030, 1, 1)) == bundle


def test_the_patient_is_stamped_with_the_day_its_dates_were_made_for():
    bundle = stamp_materialised(materialise(_sandbox_bundle("t-all"), date(2027, 1, 2)), date(2027, 1, 2))
    patient = next(r for r in resources_of(bundle) if r["resourceType"] == "Patient")
    assert materialised_on(patient) == "2027-01-02"
    again = stamp_materialised(bundle, date(2027, 1, 3))
    patient = next(r for r in resources_of(again) if r["resourceType"] == "Patient")
    assert materialised_on(patient) == "2027-01-03"
    assert len(patient["extension"]) == 1
