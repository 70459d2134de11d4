"""Body surface area: the latest usable height and weight, their units and windows, and each configured formula.

Expected values are computed by hand from the published formulas (H in cm, W in kg):
Mosteller sqrt(H x W / 3600); Du Bois 0.007184 H^0.725 W^0.425; Haycock 0.024265 H^0.3964 W^0.5378;
Gehan-George 0.0235 H^0.42246 W^0.51456. BSA is rounded to 0.01 m2 by the default policy.
"""

from __future__ import annotations

import pytest
import yaml

from service.assessment import Severity
from service.knowledge import load_knowledge
from service.patient import Relevance, build_record
from service.rules.bsa import bsa_m2, compute_bsa, latest_measurement, pediatric_status, round_step, vials_for
from service.rules.course import build_course
from service.rules.dosing import assess_dosing
from tests.builders import NOW, PATIENT_ID, medication_request, observation, patient

KNOWLEDGE = load_knowledge()


def site_knowledge(tmp_path, **policies):
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({"site": "test", "version": "1",
                                    "policy": {k.replace("_", "-"): {"value": v} for k, v in policies.items()}}))
    return load_knowledge(site_file=path)


def dosing(*resources, birth="1990-05-01", knowledge=KNOWLEDGE):
    order = medication_request(dose=1, dose_unit="mg", mr_id="ino-1")
    record = build_record([patient(birth), *resources], [order], patient_id=PATIENT_ID, now=NOW,
                          relevance=Relevance.from_knowledge(knowledge))
    return assess_dosing(record, knowledge, record.draft_orders[0], build_course(record, knowledge))


def height(value, unit="cm", when="2026-11-01", **extra):
    return observation("8302-2", value=value, unit=unit, when=when, **extra)


def weight(value, unit="kg", when="2026-11-20", **extra):
    return observation("29463-7", value=value, unit=unit, when=when, **extra)


@pytest.mark.parametrize("height_cm, weight_kg, birth, expected", [
    (70, 8, "2025-06-01", 0.39),        # sqrt(560 / 3600) = 0.3944: an 8 kg infant
    (110, 20, "2021-01-01", 0.78),      # sqrt(2200 / 3600) = 0.7817
    (150, 40, "2014-01-01", 1.29),      # sqrt(6000 / 3600) = 1.2910
    (170, 70, "1990-05-01", 1.82),      # sqrt(11900 / 3600) = 1.8181
    (190, 110, "1980-01-01", 2.41),     # sqrt(20900 / 3600) = 2.4095
])
def test_mosteller_bsa_matches_hand_computed_values_from_infants_to_adults(height_cm, weight_kg, birth, expected):
    result = dosing(height(height_cm), weight(weight_kg), birth=birth)
    assert result.bsa.formula == "mosteller"
    assert result.bsa.value_m2 == expected


def test_inch_and_pound_inputs_are_converted_before_the_formula():
    """66 in = 167.64 cm, 154 lb = 69.853 kg: sqrt(167.64 x 69.853 / 3600) = 1.8036."""
    result = dosing(height(66, "[in_i]"), weight(154, "[lb_av]"))
    assert result.bsa.height.converted == pytest.approx(167.64)
    assert result.bsa.weight.converted == pytest.approx(69.853, abs=1e-3)
    assert result.bsa.value_m2 == 1.80


def test_common_unit_spellings_without_a_ucum_code_are_read():
    tall = height(None, valueQuantity={"value": 1.7, "unit": "m"})
    heavy = weight(None, valueQuantity={"value": 154.3, "unit": "lbs"})
    result = dosing(tall, heavy)
    assert result.bsa.height.converted == pytest.approx(170)
    assert result.bsa.weight.converted == pytest.approx(69.99, abs=0.01)
    assert result.bsa.value_m2 == 1.82      # sqrt(170 x 69.99 / 3600) = 1.8180


def test_grams_are_converted_for_small_children():
    result = dosing(height(0.7, "m"), weight(8000, "g"), birth="2025-06-01")
    assert result.bsa.value_m2 == 0.39


@pytest.mark.parametrize("formula, adult, infant", [
    ("dubois", 1.81, 0.38),         # 0.007184 x 170^0.725 x 70^0.425 = 1.8097; x 70^0.725 x 8^0.425 = 0.3783
    ("haycock", 1.83, 0.40),        # 0.024265 x 170^0.3964 x 70^0.5378 = 1.8257; infant 0.4000
    ("gehan-george", 1.83, 0.41),   # 0.0235 x 170^0.42246 x 70^0.51456 = 1.8313; infant 0.4123
])
def test_each_configurable_formula_gives_its_published_value(tmp_path, formula, adult, infant):
    knowledge = site_knowledge(tmp_path, bsa_formula=formula)
    assert dosing(height(170), weight(70), knowledge=knowledge).bsa.value_m2 == adult
    assert dosing(height(70), weight(8), birth="2025-06-01", knowledge=knowledge).bsa.value_m2 == infant
    assert dosing(height(170), weight(70), knowledge=knowledge).bsa.formula == formula


def test_unrounded_mosteller_value_is_kept_beside_the_rounded_one():
    assert bsa_m2(KNOWLEDGE, "mosteller", 170, 70) == pytest.approx(1.818119, abs=1e-6)
    result = dosing(height(170), weight(70))
    assert result.bsa.exact_m2 == pytest.approx(1.818119, abs=1e-6)


def test_bsa_rounding_policy_zero_keeps_full_precision(tmp_path):
    knowledge = site_knowledge(tmp_path, bsa_rounding_m2=0)
    assert dosing(height(170), weight(70), knowledge=knowledge).bsa.value_m2 == pytest.approx(1.818119, abs=1e-6)


def test_an_unknown_formula_name_leaves_bsa_not_assessable_and_says_why(tmp_path):
    knowledge = site_knowledge(tmp_path, bsa_formula="boyd")
    result = dosing(height(170), weight(70), knowledge=knowledge)
    assert result.bsa is None
    assert any("boyd" in reason for reason in result.to_record)
    assert result.check.status == "not-assessable"


def test_the_most_recent_final_measurement_is_used():
    result = dosing(height(170), weight(60, when="2026-11-10"), weight(70, when="2026-11-24"),
                    weight(90, when="2026-11-24T18:00:00Z", status="preliminary"))
    assert result.bsa.weight.converted == 70


def test_amended_and_corrected_results_count_as_final():
    result = dosing(height(170, status="amended"), weight(70, status="corrected"))
    assert result.bsa is not None


def test_a_weight_older_than_its_window_is_treated_as_absent_and_named():
    stale = weight(70, when="2026-10-01", obs_id="w-old")      # 55 days before NOW; the window is 30 days
    result = dosing(height(170), stale)
    assert result.bsa is None and result.weight is None
    assert result.to_record == ("weight: the most recent weight (2026-10-01, Observation/w-old) is older than 30 days",)


def test_no_height_says_which_measurement_to_record():
    result = dosing(weight(70))
    assert result.bsa is None
    assert result.to_record == ("height: no final height on record",)
    assert dict(result.issues)["bsa-not-assessable"] is Severity.WARNING


def test_children_need_a_more_recent_height_than_adults():
    """A height from 200 days ago is inside the adult window (365 d) and outside the pediatric one (90 d)."""
    old_height = height(150, when="2026-05-09")
    assert dosing(old_height, weight(45), birth="1990-01-01").bsa is not None
    child = dosing(old_height, weight(45), birth="2014-01-01")
    assert child.bsa is None and child.to_record[0].startswith("height:")


def test_an_unknown_age_uses_the_stricter_pediatric_height_window():
    result = dosing(height(150, when="2026-05-09"), weight(45), birth=None)
    assert result.pediatric is None
    assert result.bsa is None


def test_a_birth_year_straddling_the_adult_age_is_neither_child_nor_adult():
    record = build_record([patient("2008")], [], patient_id=PATIENT_ID, now=NOW,
                          relevance=Relevance.from_knowledge(KNOWLEDGE))
    assert pediatric_status(record, KNOWLEDGE) is None


def test_an_unreadable_newest_weight_is_not_replaced_by_an_older_one():
    odd = weight(None, when="2026-11-24", obs_id="w-odd", valueQuantity={"value": 11, "unit": "stone"})
    result = dosing(height(170), weight(70, when="2026-11-20"), odd)
    assert result.bsa is None
    assert result.to_record == ("weight: the most recent weight (Observation/w-odd) has no readable value or unit",)


def test_future_dated_and_undated_measurements_are_not_used():
    future = weight(70, when="2026-12-01")
    undated = observation("29463-7", value=72, unit="kg", when=None)
    undated.pop("effectiveDateTime")
    result = dosing(height(170), future, undated)
    assert result.weight is None and result.to_record == ("weight: no final weight on record",)


def test_a_zero_or_negative_value_is_unreadable():
    result = dosing(height(0), weight(70))
    assert result.bsa is None and "no readable value" in result.to_record[0]


def test_a_weight_change_above_the_policy_percentage_is_flagged():
    result = dosing(height(170), weight(80, when="2026-11-01"), weight(70, when="2026-11-24"))
    assert result.weight_change_percent == pytest.approx(12.5)
    assert result.weight_change_flagged
    assert dict(result.issues)["weight-change"] is Severity.WARNING


def test_a_small_weight_change_is_not_flagged():
    result = dosing(height(170), weight(75, when="2026-11-01"), weight(70, when="2026-11-24"))
    assert result.weight_change_percent == pytest.approx(6.667, abs=1e-3)
    assert not result.weight_change_flagged
    assert "weight-change" not in dict(result.issues)


def test_weight_from_a_vital_signs_panel_component_is_read():
    panel = observation("85353-1", when="2026-11-24", component=[
        {"code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
         "valueQuantity": {"value": 70, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}])
    result = dosing(height(170), panel)
    assert result.bsa.value_m2 == 1.82


def test_latest_measurement_reports_the_previous_reading_for_comparison():
    record = build_record([patient("1990-01-01"), weight(80, when="2026-11-01"), weight(70, when="2026-11-24")], [],
                          patient_id=PATIENT_ID, now=NOW, relevance=Relevance.from_knowledge(KNOWLEDGE))
    newest, previous, problem = latest_measurement(record, KNOWLEDGE, "weight", 30)
    assert (newest.converted, previous.converted, problem) == (70, 80, None)


def test_compute_bsa_needs_both_measurements():
    assert compute_bsa(KNOWLEDGE, None, None) == (None, None)


@pytest.mark.parametrize("value, step, expected", [(1.455, 0.01, 1.46), (0.4444, 0.01, 0.44), (1.25, 0.5, 1.5),
                                                   (0.123456, 0, 0.123456)])
def test_rounding_is_half_up_to_the_policy_step(value, step, expected):
    assert round_step(value, step) == expected


@pytest.mark.parametrize("mg, vials", [(0.44, 1), (0.9, 1), (0.91, 2), (1.8, 2), (1.46, 2), (2.71, 4)])
def test_vials_count_whole_single_dose_vials(mg, vials):
    assert vials_for(mg, 0.9) == vials
