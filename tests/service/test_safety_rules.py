"""The label's safety checks, one finding per check: thresholds at and around each boundary, units, ranges, windows."""

from __future__ import annotations

from datetime import date

import pytest

from service.rules.safety import CHECKS
from tests.builders import ICD10, condition, medication_request, patient
from tests.service.test_safety_support import (ALT, AST, BILIRUBIN, BLASTS, PLATELETS, QTC, SITE_DRUGS,
                                               SITE_PROCEDURES, SNOMED_NEGATIVE, SNOMED_POSITIVE, ANC, assess,
                                               coded_test, cycle_starts, history, knowledge, lab, procedure,
                                               remission, service_request, site_knowledge)

__all__ = ["knowledge"]  # the session fixture, imported for pytest

NORMAL_LIVER = (lab(AST, 30, "U/L", high=40), lab(ALT, 30, "U/L", high=40))


def test_every_check_of_the_contract_is_reported_once_in_its_order(knowledge):
    findings = assess(knowledge, patient())
    assert tuple(findings) == CHECKS


# --------------------------------------------------------------------------- hepatic-function

@pytest.mark.parametrize("value, unit, high, high_unit, status", [
    (1.8, "mg/dL", 1.2, "mg/dL", "ok"),              # exactly 1.5 x ULN is not above it
    (1.81, "mg/dL", 1.2, "mg/dL", "flagged"),
    (30.78, "umol/L", 1.2, "mg/dL", "ok"),           # 30.78 umol/L / 17.1 = 1.8 mg/dL
    (30.8, "umol/L", 1.2, "mg/dL", "flagged"),
    (30.75, "umol/L", 20.5, "umol/L", "ok"),         # both in umol/L: 1.5 x 20.5
    (30.8, "umol/L", 20.5, "umol/L", "flagged"),
    (1.8, "mg/dL", 20.52, "umol/L", "ok"),           # range in umol/L, value in mg/dL
    (1.9, "mg/dL", 1.2, None, "flagged"),            # a range without a unit takes the result's unit
])
def test_bilirubin_is_flagged_only_above_one_and_a_half_times_its_own_upper_limit(knowledge, value, unit, high,
                                                                                   high_unit, status):
    finding = assess(knowledge, patient(), lab(BILIRUBIN, value, unit, high=high, high_unit=high_unit),
                     *NORMAL_LIVER)["hepatic-function"]
    assert finding.status == status
    if status == "flagged":
        assert finding.severity.value == "warning" and "Total bilirubin" in finding.detail


@pytest.mark.parametrize("code, value, unit, status", [
    (AST, 100, "U/L", "ok"), (AST, 100.5, "U/L", "flagged"), (ALT, 100, "IU/L", "ok"), (ALT, 101, "[IU]/L", "flagged"),
])
def test_transaminases_are_flagged_only_above_two_and_a_half_times_the_upper_limit(knowledge, code, value, unit,
                                                                                    status):
    others = [r for r in NORMAL_LIVER if r["code"]["coding"][0]["code"] != code]
    finding = assess(knowledge, patient(), lab(BILIRUBIN, 0.5, "mg/dL", high=1.2), lab(code, value, unit, high=40),
                     *others)["hepatic-function"]
    assert finding.status == status


def test_one_high_value_is_enough_and_the_detail_says_why_and_names_the_exceptions(knowledge):
    finding = assess(knowledge, patient(), lab(BILIRUBIN, 0.5, "mg/dL", high=1.2), lab(AST, 30, "U/L", high=40),
                     lab(ALT, 120, "U/L", high=40))["hepatic-function"]
    assert finding.status == "flagged"
    assert "conservative" in finding.detail and "'total bilirubin > 1.5 × ULN and AST/ALT" in finding.detail
    assert "Gilbert's syndrome or hemolysis" in finding.detail
    assert "ALT 120 U/L" in finding.detail and "3 × ULN 40 U/L" in finding.detail


def test_the_normal_range_is_used_and_the_lowest_of_several_normal_ranges(knowledge):
    ranges = [{"high": {"value": 5.0, "unit": "mg/dL"}, "type": concept_range("treatment")},
              {"high": {"value": 1.2, "unit": "mg/dL"}, "type": concept_range("normal")},
              {"high": {"value": 1.0, "unit": "mg/dL"}}]
    bilirubin = lab(BILIRUBIN, 1.6, "mg/dL", referenceRange=ranges)
    finding = assess(knowledge, patient(), bilirubin, *NORMAL_LIVER)["hepatic-function"]
    assert finding.status == "flagged" and "lowest of 2" in finding.detail


def concept_range(code: str) -> dict:
    return {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/referencerange-meaning", "code": code}]}


def test_a_result_without_a_numeric_upper_limit_is_unknown_unless_the_site_sets_a_default(knowledge, tmp_path):
    text_only = lab(AST, 90, "U/L", referenceRange=[{"text": "< 40 U/L"}])
    resources = (patient(), lab(BILIRUBIN, 0.5, "mg/dL", high=1.2), lab(ALT, 30, "U/L", high=40), text_only)
    finding = assess(knowledge, *resources)["hepatic-function"]
    assert finding.status == "unknown" and "no upper limit of normal" in finding.detail
    assert finding.suggestion is None, "ordering the test again would not give it a range"
    site = site_knowledge(tmp_path, policy={"uln-ast-default": {"value": 35}})
    with_default = assess(site, *resources)["hepatic-function"]
    assert with_default.status == "flagged" and "site default ULN" in with_default.detail


def test_missing_and_stale_liver_tests_are_unknown_and_offered_as_orders(knowledge):
    stale_ast = lab(AST, 30, "U/L", high=40, days=8)
    finding = assess(knowledge, patient(), lab(BILIRUBIN, 0.5, "mg/dL", high=1.2), stale_ast)["hepatic-function"]
    assert finding.status == "unknown"
    assert "none within 7 days" in finding.detail and stale_ast["id"] in finding.detail
    assert finding.suggestion.orders == ("order-ast", "order-alt")


def test_the_site_may_prefer_the_hepatic_panel_as_the_order(tmp_path):
    site = site_knowledge(tmp_path, policy={"hepatic-order-as-panel": {"value": True}})
    finding = assess(site, patient())["hepatic-function"]
    assert finding.suggestion.orders == ("order-hepatic-panel",)


def test_preliminary_results_and_unreadable_units_are_not_used(knowledge):
    finding = assess(knowledge, patient(), lab(BILIRUBIN, 9.0, "mg/dL", high=1.2, status="preliminary"),
                     lab(AST, 3, "ukat/L", high=0.6), lab(ALT, 30, "U/L", high=40))["hepatic-function"]
    assert finding.status == "unknown"
    assert "cannot be read as U/L" in finding.detail
    assert finding.suggestion.orders == ("order-bilirubin",)


def test_a_liver_panel_component_with_its_own_range_is_read(knowledge):
    panel = lab("24325-3", 1, "1", component=[
        {"code": {"coding": [{"system": "http://loinc.org", "code": BILIRUBIN}]},
         "valueQuantity": {"value": 2.5, "unit": "mg/dL"}, "referenceRange": [{"high": {"value": 1.2}}]}])
    panel.pop("valueQuantity")
    finding = assess(knowledge, patient(), panel, *NORMAL_LIVER)["hepatic-function"]
    assert finding.status == "flagged" and "2.08 × ULN" in finding.detail


# --------------------------------------------------------------------------- vod-history, prior-hsct

@pytest.mark.parametrize("clinical, verification, status", [
    ("resolved", None, "flagged"), ("active", "unconfirmed", "flagged"), ("inactive", None, "flagged"),
    ("resolved", "entered-in-error", "ok"), ("active", "refuted", "ok")])
def test_any_vod_on_record_is_critical_whatever_its_clinical_status(knowledge, clinical, verification, status):
    vod = condition("K76.5", system=ICD10, clinical=clinical, verification=verification)
    finding = assess(knowledge, patient(), vod)["vod-history"]
    assert finding.status == status
    if status == "flagged":
        assert finding.severity.value == "critical" and "permanently discontinue" in finding.detail
        assert finding.evidence == (f"Condition/{vod['id']}",)


def test_a_transplant_status_diagnosis_is_a_prior_hsct_warning(knowledge):
    finding = assess(knowledge, patient(), condition("Z94.84", system=ICD10))["prior-hsct"]
    assert finding.status == "flagged" and finding.severity.value == "warning"
    assert "Prior HSCT" in finding.detail and "risk factor for VOD" in finding.detail


def test_without_configured_procedure_codes_the_finding_says_what_was_not_checked(knowledge):
    finding = assess(knowledge, patient())["prior-hsct"]
    assert finding.status == "ok" and "not configured" in finding.detail


@pytest.mark.parametrize("resource, prior, planned", [
    (procedure("hsct", "completed"), True, False),
    (procedure("hsct", "preparation"), False, True),
    (procedure("hsct", "not-done"), False, False),
    (service_request("hsct", "active"), False, True),
    (service_request("hsct", "draft"), False, True),
    (service_request("hsct", "revoked"), False, False),
])
def test_site_procedure_codes_show_prior_and_planned_transplants(tmp_path, resource, prior, planned):
    site = site_knowledge(tmp_path, valueSets={"hsct-procedure": {"add": [{"system": SITE_PROCEDURES,
                                                                           "code": "hsct"}]}})
    finding = assess(site, patient(), resource)["prior-hsct"]
    assert finding.status == ("flagged" if prior or planned else "ok")
    assert ("Prior HSCT" in (finding.detail or "")) is prior
    assert ("recommended course of 2 cycles" in (finding.detail or "")) is planned


# --------------------------------------------------------------------------- blood-counts

def _counts(anc: float, plt: float, *, anc_unit: str = "10*9/L", plt_unit: str = "10*9/L", days: float = 1):
    return lab(ANC, anc, anc_unit, days=days), lab(PLATELETS, plt, plt_unit, days=days)


def test_cycle_1_counts_are_recorded_as_the_baseline_not_flagged(knowledge):
    finding = assess(knowledge, patient(), *_counts(0.3, 20))["blood-counts"]
    assert finding.status == "ok" and "baseline" in finding.detail.lower() and "ANC 0.3" in finding.detail


def test_missing_counts_before_a_cycle_are_unknown_with_an_order_for_each(knowledge):
    finding = assess(knowledge, patient(), lab(ANC, 2, "10*9/L"))["blood-counts"]
    assert finding.status == "unknown"
    assert finding.suggestion.orders == ("order-platelets",)


def test_days_8_and_15_are_not_held_for_low_counts(knowledge):
    doses = history(date(2026, 11, 18), doses_per_cycle=1)
    finding = assess(knowledge, patient(), *doses, *_counts(0.2, 10))["blood-counts"]
    assert finding.status == "ok" and "not a reason to hold" in finding.detail
    assert "do not need to be interrupted due to neutropenia or thrombocytopenia" in finding.detail


def _cycle_2(*counts):
    """Cycle 1 started 2026-10-21 with normal pre-treatment counts; NOW is day 1 of cycle 2."""
    start = date(2026, 10, 21)
    baseline = (lab(ANC, 2, "10*9/L", days=36), lab(PLATELETS, 150, "10*9/L", days=36))
    return (*history(start), *baseline, *counts)


@pytest.mark.parametrize("anc, anc_unit, plt, plt_unit, status", [
    (1.0, "10*9/L", 50, "10*9/L", "ok"),
    (0.99, "10*9/L", 50, "10*9/L", "flagged"),
    (1000, "/uL", 50, "10*3/uL", "ok"),
    (999, "/mm3", 50, "10*3/uL", "flagged"),
    (1.5, "10*3/uL", 49, "10*3/uL", "flagged"),
    (1.5, "10*9/L", 50000, "/mm3", "ok"),
])
def test_a_new_cycle_needs_anc_of_1_and_platelets_of_50_after_a_normal_baseline(knowledge, anc, anc_unit, plt,
                                                                                 plt_unit, status):
    finding = assess(knowledge, patient(), *_cycle_2(*_counts(anc, plt, anc_unit=anc_unit, plt_unit=plt_unit)))
    counts = finding["blood-counts"]
    assert counts.status == status
    assert "independent of blood transfusion" in counts.detail
    if status == "flagged":
        assert "interrupt the next cycle" in counts.detail


@pytest.mark.parametrize("anc, status", [(0.5, "ok"), (0.45, "flagged")])
def test_after_a_low_baseline_recovery_to_the_prior_cycle_counts_is_enough(knowledge, anc, status):
    start = date(2026, 10, 21)
    low_baseline = (lab(ANC, 0.5, "10*9/L", days=36), lab(PLATELETS, 40, "10*9/L", days=36))
    findings = assess(knowledge, patient(), *history(start), *low_baseline, *_counts(anc, 45))
    counts = findings["blood-counts"]
    assert counts.status == status
    assert "baseline levels for the prior cycle" in counts.detail


def test_an_unknown_baseline_applies_the_absolute_limits_and_says_so(knowledge):
    findings = assess(knowledge, patient(), *history(date(2026, 10, 21)), *_counts(0.8, 100))
    assert findings["blood-counts"].status == "flagged"
    assert "absolute limits apply" in findings["blood-counts"].detail


# --------------------------------------------------------------------------- peripheral-blasts

@pytest.mark.parametrize("value, unit, status", [
    (10, "10*9/L", "ok"), (10000, "/mm3", "ok"), (10, "10*3/uL", "ok"), (10000, "/uL", "ok"),
    (10.1, "10*9/L", "flagged"), (10001, "/mm3", "flagged"), (10.01, "10*3/uL", "flagged"),
    (10001, "/uL", "flagged")])
def test_circulating_blasts_above_10000_per_mm3_before_cycle_1_need_cytoreduction(knowledge, value, unit, status):
    finding = assess(knowledge, patient(), lab(BLASTS, value, unit))["peripheral-blasts"]
    assert finding.status == status
    if status == "flagged":
        assert "hydroxyurea, steroids, and/or vincristine" in finding.detail


def test_blasts_do_not_matter_once_the_course_has_started(knowledge):
    findings = assess(knowledge, patient(), *history(date(2026, 10, 21)), lab(BLASTS, 50, "10*9/L"))
    assert findings["peripheral-blasts"].status == "ok"


def test_a_missing_or_percentage_blast_count_is_unknown_without_an_unconfigured_order(knowledge):
    finding = assess(knowledge, patient(), lab(BLASTS, 40, "%"))["peripheral-blasts"]
    assert finding.status == "unknown" and "cannot be read" in finding.detail
    assert finding.suggestion is None, "no CBC-with-differential code is configured by default"


# --------------------------------------------------------------------------- qt

@pytest.mark.parametrize("value, unit, status", [(500, "ms", "ok"), (501, "ms", "flagged"), (0.5, "s", "ok"),
                                                 (0.501, "s", "flagged")])
def test_a_recent_qtc_above_the_policy_is_a_warning(knowledge, value, unit, status):
    finding = assess(knowledge, patient(), lab(QTC, value, unit))["qt"]
    assert finding.status == status
    assert "not configured" in finding.detail
    if status == "flagged":
        assert "ECG and electrolytes" in finding.detail and finding.suggestion.orders == ("order-ecg",)


def test_no_recent_qtc_is_unknown_with_an_ecg_suggestion(knowledge):
    finding = assess(knowledge, patient(), lab(QTC, 450, "ms", days=31))["qt"]
    assert finding.status == "unknown" and finding.suggestion.orders == ("order-ecg",)


@pytest.mark.parametrize("status, draft, flagged", [("active", False, True), ("stopped", False, False),
                                                     ("draft", True, True)])
def test_active_or_co_ordered_qt_prolonging_drugs_are_flagged_when_the_site_lists_them(tmp_path, status, draft,
                                                                                       flagged):
    site = site_knowledge(tmp_path, valueSets={"qt-prolonging-drugs": {"add": [{"system": SITE_DRUGS,
                                                                                "code": "qt-1"}]}})
    other = medication_request("qt-1", system=SITE_DRUGS, status=status, text="Test QT drug")
    order = medication_request()
    resources = (patient(), lab(QTC, 420, "ms")) + (() if draft else (other,))
    finding = assess(site, *resources, order=order, drafts=(other,) if draft else ())["qt"]
    assert finding.status == ("flagged" if flagged else "ok")
    assert "not configured" not in finding.detail


# --------------------------------------------------------------------------- pregnancy

def test_a_positive_test_is_critical_whether_coded_in_the_value_or_the_interpretation(knowledge):
    for test in (coded_test(SNOMED_POSITIVE), coded_test(interpretation="POS")):
        finding = assess(knowledge, patient("1990-05-01"), test)["pregnancy"]
        assert finding.status == "flagged" and finding.severity.value == "critical"
        assert "embryofetal harm" in finding.detail


def test_a_negative_test_is_ok_and_the_counselling_is_in_the_detail(knowledge):
    finding = assess(knowledge, patient("1990-05-01"), coded_test(SNOMED_NEGATIVE))["pregnancy"]
    assert finding.status == "ok"
    assert "8 months" in finding.detail and "5 months" in finding.detail and "2 months" in finding.detail


@pytest.mark.parametrize("test, phrase", [
    (coded_test(SNOMED_NEGATIVE, interpretation="POS"), "contradictory"),
    (coded_test(SNOMED_POSITIVE, days=8), "positive"),
    (coded_test(days=1), "result not coded"),
])
def test_contradictory_stale_or_uncoded_tests_leave_pregnancy_unknown(knowledge, test, phrase):
    finding = assess(knowledge, patient("1990-05-01"), test)["pregnancy"]
    assert finding.status == "unknown" and phrase in finding.detail
    assert finding.suggestion.orders == ("order-pregnancy-test",)


@pytest.mark.parametrize("birth, status", [
    ("2014-11-25", "unknown"),   # 12 today: in the band, no test
    ("2014-11-26", "ok"),        # 11 until tomorrow
    ("1971-11-26", "unknown"),   # 55
    ("1970-11-25", "ok"),        # 56 today
    ("1970", "unknown"),         # 55 or 56: may be in the band
    ("1969", "ok"),              # 56 or 57
    (None, "unknown"),
])
def test_the_reproductive_age_band_decides_whether_a_missing_test_matters(knowledge, birth, status):
    assert assess(knowledge, patient(birth))["pregnancy"].status == status


def test_males_need_no_test_and_an_unrecorded_sex_is_unknown(knowledge):
    male = assess(knowledge, patient("1990-05-01", gender="male"))["pregnancy"]
    assert male.status == "ok" and "5 months" in male.detail
    assert assess(knowledge, patient("1990-05-01", gender="unknown"))["pregnancy"].status == "unknown"


# --------------------------------------------------------------------------- treatment-course

def test_a_4th_cycle_without_cr_is_a_warning_and_with_cr_is_not(knowledge):
    starts = cycle_starts(3)
    without = assess(knowledge, patient(), *history(*starts))["treatment-course"]
    assert without.status == "flagged" and "cycle 4 without CR/CRi" in without.detail
    assert "should discontinue treatment" in without.detail
    with_cr = assess(knowledge, patient(), *history(*starts), remission())["treatment-course"]
    assert with_cr.status == "ok" and "cycle 4" in with_cr.detail


def test_a_3rd_cycle_is_within_the_limits(knowledge):
    assert assess(knowledge, patient(), *history(*cycle_starts(2)))["treatment-course"].status == "ok"


def test_more_than_6_cycles_is_a_warning_even_in_remission(knowledge):
    starts = cycle_starts(6)
    finding = assess(knowledge, patient(), *history(*starts), remission(starts[1].isoformat()))["treatment-course"]
    assert finding.status == "flagged" and "maximum of 6" in finding.detail


@pytest.mark.parametrize("cycles, status", [(1, "ok"), (2, "flagged")])
def test_a_3rd_cycle_before_a_planned_transplant_is_a_warning(tmp_path, cycles, status):
    site = site_knowledge(tmp_path, valueSets={"hsct-procedure": {"add": [{"system": SITE_PROCEDURES,
                                                                           "code": "hsct"}]}})
    findings = assess(site, patient(), *history(*cycle_starts(cycles)), remission(), procedure("hsct", "preparation"))
    assert findings["treatment-course"].status == status
    assert findings["prior-hsct"].status == "flagged"
    if status == "flagged":
        assert "third cycle may be considered" in findings["treatment-course"].detail


def test_undated_prior_doses_make_the_cycle_count_unknown(knowledge):
    undated = medication_request(status="completed", mr_id="dose-undated")
    finding = assess(knowledge, patient(), undated)["treatment-course"]
    assert finding.status == "unknown" and "MedicationRequest/dose-undated" in finding.detail


def test_findings_name_the_records_they_used(knowledge):
    bilirubin = lab(BILIRUBIN, 3, "mg/dL", high=1.2)
    findings = assess(knowledge, patient(), bilirubin, *NORMAL_LIVER, coded_test(SNOMED_NEGATIVE))
    assert f"Observation/{bilirubin['id']}" in findings["hepatic-function"].evidence
    assert len(findings["pregnancy"].evidence) == 1
