"""The CD22 criterion in every shape labs send it, its window, statuses, contradictions and narrative text."""

from __future__ import annotations

import dataclasses

import pytest

from service.assessment import Status
from service.rules.narrative import NEGATIVE, NOT_REPORTED, POSITIVE, UNCERTAIN, read_marker
from tests.builders import LOINC, SNOMED, concept, condition, observation, patient
from tests.service.eligibility_support import KNOWLEDGE, criterion

CD22 = "14017-8"
PANEL = "101119-6"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
VOCABULARY = KNOWLEDGE.value("cd22-narrative-vocabulary")


def cd22(*resources):
    return criterion("cd22", patient(), *resources)


def with_policy(**values):
    """The knowledge base with some policies replaced, as a site override would."""
    policies = dict(KNOWLEDGE.policies)
    for key, value in values.items():
        policy_id = key.replace("_", "-")
        policies[policy_id] = dataclasses.replace(policies[policy_id], value=value, site_modified=True)
    return dataclasses.replace(KNOWLEDGE, policies=policies)


def coded(code: str, **kw) -> dict:
    return observation(CD22, valueCodeableConcept=concept(SNOMED, code), **kw)


def narrative(text: str, **kw) -> dict:
    return observation(PANEL, valueString=text, **kw)


# --------------------------------------------------------------------------- shapes

def test_a_percentage_above_the_default_threshold_is_positive_and_names_the_rule():
    result = cd22(observation(CD22, value=85, unit="%", obs_id="cd22-1"))
    assert result.status is Status.MET
    assert result.evidence == ("Observation/cd22-1",)
    assert "85%" in result.detail and "2026-11-20" in result.detail and "> 0%" in result.detail


def test_zero_percent_is_negative_and_not_met():
    assert cd22(observation(CD22, value=0, unit="%")).status is Status.NOT_MET


def test_the_site_threshold_decides_a_percentage():
    site = with_policy(cd22_positive_above_percent=20)
    assert criterion("cd22", observation(CD22, value=15, unit="%"), knowledge=site).status is Status.NOT_MET
    assert criterion("cd22", observation(CD22, value=20, unit="%"), knowledge=site).status is Status.NOT_MET
    inclusive = with_policy(cd22_positive_above_percent=20, cd22_threshold_inclusive=True)
    met = criterion("cd22", observation(CD22, value=20, unit="%"), knowledge=inclusive)
    assert met.status is Status.MET and ">= 20%" in met.detail and "site" in met.detail


@pytest.mark.parametrize("unit", ["cells/uL", "", "10*9/L"])
def test_a_value_that_is_not_a_percentage_cannot_be_read_and_is_unknown(unit):
    result = cd22(observation(CD22, value=85, unit=unit or None))
    assert result.status is Status.UNKNOWN and "cannot be read" in result.detail
    assert result.missing


def test_an_impossible_percentage_is_unknown():
    assert cd22(observation(CD22, value=185, unit="%")).status is Status.UNKNOWN


@pytest.mark.parametrize("code, expected", [("10828004", Status.MET), ("260385009", Status.NOT_MET)])
def test_a_coded_snomed_result_is_read(code, expected):
    assert cd22(coded(code)).status is expected


def test_an_unrecognised_coded_value_is_unknown():
    assert cd22(coded("419984006")).status is Status.UNKNOWN


@pytest.mark.parametrize("flag, expected", [("POS", Status.MET), ("NEG", Status.NOT_MET)])
def test_an_interpretation_alone_is_read(flag, expected):
    result = cd22(observation(CD22, interpretation=[concept(V3, flag)]))
    assert result.status is expected
    assert "interpretation" in result.detail


def test_a_percentage_and_an_interpretation_that_disagree_are_unknown():
    record = observation(CD22, value=15, unit="%", interpretation=[concept(V3, "NEG")])
    assert cd22(record).status is Status.UNKNOWN


@pytest.mark.parametrize("text, expected", [("Positive", Status.MET), ("negative", Status.NOT_MET),
                                            ("92%", Status.MET), ("see report", Status.UNKNOWN)])
def test_a_short_text_value_on_a_cd22_result_is_read(text, expected):
    assert cd22(observation(CD22, valueString=text)).status is expected


def test_a_component_of_a_flow_panel_is_read():
    panel = observation(PANEL, obs_id="flow-1", component=[
        {"code": concept(LOINC, "00000-0"), "valueQuantity": {"value": 99, "unit": "%", "code": "%"}},
        {"code": concept(LOINC, CD22), "valueQuantity": {"value": 70, "unit": "%", "code": "%"}}])
    result = cd22(panel)
    assert result.status is Status.MET
    assert result.evidence == ("Observation/flow-1",) and "component" in result.detail


def test_a_negative_component_of_a_flow_panel_is_not_met():
    panel = observation("12345-6", component=[{"code": concept(LOINC, CD22),
                                               "valueCodeableConcept": concept(SNOMED, "260385009")}])
    assert cd22(panel).status is Status.NOT_MET


def test_a_site_local_code_is_read_once_the_site_adds_it():
    local = observation("CD22-BLAST", system="urn:oid:1.2.3.4.5", value=90, unit="%")
    assert cd22(local).status is Status.UNKNOWN
    value_sets = dict(KNOWLEDGE.value_sets)
    vs = value_sets["cd22-result"]
    value_sets["cd22-result"] = dataclasses.replace(vs, codes=vs.codes | {("urn:oid:1.2.3.4.5", "CD22-BLAST")})
    site = dataclasses.replace(KNOWLEDGE, value_sets=value_sets)
    assert criterion("cd22", local, knowledge=site).status is Status.MET


# --------------------------------------------------------------------------- narrative

def test_the_issue_example_narrative_is_positive_and_the_card_notes_it_came_from_narrative():
    result = cd22(narrative("positive for CD19, CD22 and TdT; negative for CD20", obs_id="ip-1"))
    assert result.status is Status.MET
    assert result.evidence == ("Observation/ip-1",)
    assert KNOWLEDGE.text("eligibility-cd22-narrative") in result.notes
    assert "narrative" in result.detail


@pytest.mark.parametrize("text", ["CD22 negative", "negative for CD22", "Blasts: CD19+, CD22-, CD20-.",
                                  "positive for CD19 and CD10, but not CD22", "CD22 is not expressed",
                                  "negative for CD20 and CD22", "No CD22 expression", "CD22-negative"])
def test_negated_narratives_are_negative(text):
    assert cd22(narrative(text)).status is Status.NOT_MET


@pytest.mark.parametrize("text", ["dim CD22", "CD22 partially expressed", "CD22 +/-", "cCD22+", "CD22 not performed",
                                  "CD22 was assessed", "positive for CD19, CD22 was not seen",
                                  "positive for CD19 and CD22, CD20 negative",
                                  "CD22 positive. On repeat CD22 negative"])
def test_qualified_missing_or_ambiguous_narratives_are_never_positive(text):
    assert cd22(narrative(text)).status is Status.UNKNOWN


def test_a_narrative_percentage_is_compared_with_the_site_threshold():
    site = with_policy(cd22_positive_above_percent=20)
    assert criterion("cd22", narrative("CD22 (85% of blasts)"), knowledge=site).status is Status.MET
    assert criterion("cd22", narrative("CD22 positive (15%)"), knowledge=site).status is Status.UNKNOWN


def test_a_report_that_does_not_mention_cd22_is_no_result_and_is_named():
    result = cd22(narrative("positive for CD19 and TdT", obs_id="ip-2"))
    assert result.status is Status.UNKNOWN
    assert "Observation/ip-2" in result.detail


@pytest.mark.parametrize("text, expected", [
    ("positive for CD19, CD22 and TdT; negative for CD20", [POSITIVE]),
    ("Blasts are positive for CD19, CD10, CD22, CD34 and TdT, and negative for CD20", [POSITIVE]),
    ("CD19, CD22 and TdT positive", [POSITIVE]),
    ("positive for CD19, CD22 negative", [NEGATIVE]),
    ("not positive for CD22", [NEGATIVE]),
    ("CD22 not interpretable", [UNCERTAIN]),
    ("CD22 pending", [NOT_REPORTED]),
    ("Prior CD22-directed therapy; blasts positive for CD19 and CD22", [POSITIVE]),
    ("CD2 positive, CD20 negative, CD220 positive", []),
])
def test_the_narrative_reader_reads_each_mention_with_its_own_polarity(text, expected):
    assert [s.result for s in read_marker(text, "22", VOCABULARY)] == expected


# --------------------------------------------------------------------------- statuses, windows, contradictions

@pytest.mark.parametrize("status", ["preliminary", "registered"])
def test_a_result_that_is_not_final_is_not_used_but_is_named(status):
    result = cd22(observation(CD22, value=85, unit="%", status=status, obs_id="pre-1"))
    assert result.status is Status.UNKNOWN
    assert "Observation/pre-1" in result.detail and status in result.detail


@pytest.mark.parametrize("status", ["amended", "corrected"])
def test_amended_and_corrected_results_count(status):
    assert cd22(observation(CD22, value=85, unit="%", status=status)).status is Status.MET


def test_an_entered_in_error_result_is_ignored_and_the_earlier_one_decides():
    records = [observation(CD22, value=0, unit="%", when="2026-11-20", status="entered-in-error"),
               observation(CD22, value=60, unit="%", when="2026-11-01")]
    assert cd22(*records).status is Status.MET


def test_the_most_recent_result_decides():
    records = [observation(CD22, value=80, unit="%", when="2026-10-01"),
               observation(CD22, value=0, unit="%", when="2026-11-10", obs_id="newest")]
    result = cd22(*records)
    assert result.status is Status.NOT_MET and result.evidence == ("Observation/newest",)


def test_same_day_results_that_disagree_are_unknown():
    records = [observation(CD22, value=80, unit="%", when="2026-11-10T08:00:00Z"),
               coded("260385009", when="2026-11-10T15:00:00Z")]
    result = cd22(*records)
    assert result.status is Status.UNKNOWN and "disagree" in result.detail
    assert len(result.evidence) == 2


def test_a_result_older_than_the_look_back_window_is_absent_and_named():
    result = cd22(observation(CD22, value=85, unit="%", when="2026-08-26", obs_id="old"))   # 91 days
    assert result.status is Status.UNKNOWN
    assert "Observation/old" in result.detail and "90 days" in result.detail
    assert "90 days" in result.missing


def test_a_result_exactly_at_the_edge_of_the_window_still_counts():
    assert cd22(observation(CD22, value=85, unit="%", when="2026-08-27")).status is Status.MET   # 90 days


def test_an_undated_result_is_not_used_and_is_named():
    undated = {k: v for k, v in observation(CD22, value=85, unit="%", obs_id="nodate").items()
               if k != "effectiveDateTime"}
    result = cd22(undated)
    assert result.status is Status.UNKNOWN and "Observation/nodate (undated)" in result.detail


def test_another_patients_cd22_result_is_never_used():
    assert cd22(observation(CD22, value=85, unit="%", patient_id="someone-else")).status is Status.UNKNOWN


def test_a_result_taken_before_the_most_recent_relapse_is_flagged_as_possibly_outdated():
    records = [observation(CD22, value=85, unit="%", when="2026-09-01"),
               condition("C91.02", recorded="2026-10-15")]
    result = cd22(*records)
    assert result.status is Status.MET
    assert KNOWLEDGE.text("eligibility-cd22-before-relapse") in result.notes
    assert "before the relapse of 2026-10-15" in result.detail


def test_a_site_can_require_cd22_after_the_relapse():
    records = [patient(), observation(CD22, value=85, unit="%", when="2026-09-01"),
               condition("C91.02", recorded="2026-10-15")]
    result = criterion("cd22", *records, knowledge=with_policy(cd22_require_after_relapse=True))
    assert result.status is Status.UNKNOWN and "after the relapse of 2026-10-15" in result.missing


def test_a_result_taken_after_the_relapse_is_not_flagged():
    records = [observation(CD22, value=85, unit="%", when="2026-11-01"), condition("C91.02", recorded="2026-10-15")]
    assert KNOWLEDGE.text("eligibility-cd22-before-relapse") not in cd22(*records).notes

