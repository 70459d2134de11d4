"""The synthetic patients. Each function tells one clinical story; manifest.yaml states what the service must answer.

Offsets are days before the day of loading. Look-back windows these stories stay clear of (knowledge defaults):
weight 30 d, height 90 d (children) / 365 d (adults), CD22 90 d, liver tests, counts, blasts and pregnancy 7 d,
QTc 30 d. Relevant results are 1-5 days old unless the story is about their age.
"""

from __future__ import annotations

from episodes import (FULL_REMISSION, HCG_SERUM, HCG_URINE, INOTUZUMAB, RELAPSE, WORSENED, clean_labs,
                      frontline_history, order_for, relapsed_b_all, supportive, visits)
from fhirgen import (ADULT_ONCOLOGIST, FORMULARY, ICD10, ICDO3, LOINC, PEDS_ONCOLOGIST, SNOMED, Chart, ago, born,
                     concept, day_ago, mosteller, quantity)


# --------------------------------------------------------------------------- the patients

def eligible_child() -> Chart:
    c = Chart("eligible-child", given="Emma", family="Zztest-Rivera", gender="female", birth_date=born(4, 3, 6),
              mrn="ZZ1000001", oncologist=PEDS_ONCOLOGIST,
              story="4-year-old, first relapse of CD22-positive B-ALL, about to start cycle 1")
    visits(c, 21, 10, 2)
    relapsed_b_all(c, 780, 21, remission_days=740)
    frontline_history(c, 780)
    c.cd22_percent(10, 92)
    c.vitals(2, weight=(16.4, "kg"))
    c.vitals(34, weight=(16.7, "kg"))
    c.vitals(20, height=(103, "cm"))
    clean_labs(c)
    supportive(c, "ondansetron", "acyclovir", "smx-tmp", "allopurinol")
    order_for(c, 103, 16.4, 0.8, "cycle 1 day 1")
    c.premedication_drafts(16.4)
    return c


def eligible_adult() -> Chart:
    c = Chart("eligible-adult", given="Sofia", family="Zztest-Marchetti", gender="female", birth_date=born(34, 5, 12),
              mrn="ZZ1000002", oncologist=ADULT_ONCOLOGIST,
              story="34-year-old, relapsed Ph-negative B-ALL after 2 lines, CD22 from a flow panel, cycle 1; "
                    "premedication partly already active, ordered via a Medication reference")
    visits(c, 35, 14, 3)
    relapsed_b_all(c, 900, 35, remission_days=860)
    c.immunophenotype(30, "Bone marrow, relapsed B-lymphoblastic leukemia: blasts positive for CD19, CD22, CD10, "
                          "CD34 and TdT; negative for CD20.",
                      components=[{"code": concept(LOINC, "14017-8", "CD22 cells/100 cells in Blood (candidate, "
                                                                       "unverified)"),
                                   "valueQuantity": quantity(88, "%")}])
    c.vitals(3, weight=(64.2, "kg"))
    c.vitals(33, weight=(65.0, "kg"))
    c.vitals(60, height=(168, "cm"))
    clean_labs(c, anc=2.1, platelets=74)
    c.coded_result(*HCG_SERUM, 2, positive=False)
    supportive(c, "acyclovir", "smx-tmp", "levothyroxine", "ursodiol", "pantoprazole")
    c.rxnorm_request("161", "acetaminophen", status="active", days=3, instructions="650 mg by mouth before each "
                                                                                    "inotuzumab infusion")
    c.rxnorm_request("3498", "diphenhydramine", status="active", days=3, instructions="25 mg IV before each "
                                                                                       "inotuzumab infusion")
    c.rxnorm_request("5492", "hydrocortisone", status="draft", days=None, draft=True,
                     instructions="IV 30 minutes before inotuzumab, per the institutional premedication protocol")
    order_for(c, 168, 64.2, 0.8, "cycle 1 day 1",
              medication={"medicationReference": {"reference": "Medication/inoz-med-besponsa-vial",
                                                  "display": "Besponsa 0.9 mg vial"}})
    return c


def infant() -> Chart:
    c = Chart("infant-10-months", given="Noah", family="Zztest-Becker", gender="male", birth_date=born(0, 10, 3),
              mrn="ZZ1000003", oncologist=PEDS_ONCOLOGIST,
              story="10-month-old with relapsed CD22-positive infant B-ALL: below the labelled age")
    visits(c, 18, 6)
    relapsed_b_all(c, 150, 18)
    c.cd22_percent(12, 95)
    c.vitals(2, weight=(8.6, "kg"), height=(71, "cm"))
    clean_labs(c, anc=1.2, platelets=64, history=False)
    supportive(c, "ondansetron", "smx-tmp")
    order_for(c, 71, 8.6, 0.8, "cycle 1 day 1")
    c.premedication_drafts(8.6)
    return c


def cd22_negative() -> Chart:
    c = Chart("cd22-negative", given="Marcus", family="Zztest-Johansson", gender="male", birth_date=born(52, 2, 9),
              mrn="ZZ1000004", oncologist=ADULT_ONCOLOGIST,
              story="52-year-old, relapsed B-ALL whose relapse blasts are CD22-negative (positive at diagnosis)")
    visits(c, 25, 12, 2)
    relapsed_b_all(c, 640, 25, remission_days=600)
    c.cd22_percent(640, 81)
    c.coded_result(LOINC, "14017-8", "CD22 cells/100 cells in Blood (candidate, unverified)", 12, positive=False,
                   method={"text": "Flow cytometry, bone marrow aspirate"})
    c.vitals(2, weight=(88.0, "kg"))
    c.vitals(200, height=(181, "cm"))
    clean_labs(c)
    supportive(c, "acyclovir", "pantoprazole", "magnesium")
    order_for(c, 181, 88.0, 0.8, "cycle 1 day 1")
    c.premedication_drafts()
    return c


def cd22_unknown() -> Chart:
    c = Chart("cd22-unknown", given="Liam", family="Zztest-Nakamura", gender="male", birth_date=born(9, 7, 2),
              mrn="ZZ1000005", oncologist=PEDS_ONCOLOGIST,
              story="9-year-old, relapsed B-ALL; the only CD22 is from diagnosis 13 months ago and the relapse "
                    "immunophenotype does not mention CD22")
    visits(c, 16, 8, 1)
    relapsed_b_all(c, 400, 16)
    c.cd22_percent(398, 90)
    c.immunophenotype(14, "Relapsed B-lymphoblastic leukemia: blasts positive for CD19, CD10, CD34 and TdT; "
                          "CD20 partial.")
    c.vitals(1, weight=(29.5, "kg"))
    c.vitals(30, height=(134, "cm"))
    clean_labs(c)
    supportive(c, "ondansetron", "acyclovir", "smx-tmp")
    order_for(c, 134, 29.5, 0.8, "cycle 1 day 1")
    c.premedication_drafts(29.5)
    return c


def newly_diagnosed() -> Chart:
    c = Chart("newly-diagnosed", given="Ava", family="Zztest-Okonkwo", gender="female", birth_date=born(6, 1, 20),
              mrn="ZZ1000006", oncologist=PEDS_ONCOLOGIST,
              story="6-year-old, ALL diagnosed 12 days ago (C91.00 only): no relapse, lineage not coded")
    visits(c, 12, 5, 1)
    c.condition(ICD10, "C91.00", "Acute lymphoblastic leukemia not having achieved remission", onset_days=12,
                recorded_days=11)
    c.cd22_percent(11, 91)
    c.vitals(1, weight=(21.0, "kg"), height=(117, "cm"))
    clean_labs(c, blasts=3.2, history=False)
    supportive(c, "allopurinol", "ondansetron")
    order_for(c, 117, 21.0, 0.8, "cycle 1 day 1")
    c.premedication_drafts(21.0)
    return c


def t_all() -> Chart:
    c = Chart("t-all", given="Ethan", family="Zztest-Moreau", gender="male", birth_date=born(15, 4, 11),
              mrn="ZZ1000007", oncologist=PEDS_ONCOLOGIST,
              story="15-year-old with relapsed T-lymphoblastic leukemia (not an indication; blasts CD22-negative)")
    visits(c, 20, 9, 1)
    c.condition(ICDO3, "9837/3", "T lymphoblastic leukemia/lymphoma", onset_days=540, clinical="relapse")
    c.condition(*RELAPSE, onset_days=20, recorded_days=19)
    c.immunophenotype(15, "Relapsed T-lymphoblastic leukemia: blasts positive for cytoplasmic CD3, CD7, CD5, CD1a "
                          "and TdT; negative for CD19, CD22 and CD10.")
    c.vitals(1, weight=(52.0, "kg"))
    c.vitals(25, height=(165, "cm"))
    clean_labs(c)
    supportive(c, "acyclovir", "allopurinol")
    order_for(c, 165, 52.0, 0.8, "cycle 1 day 1")
    c.premedication_drafts(50)
    return c


def stale_weight() -> Chart:
    c = Chart("stale-weight", given="Oliver", family="Zztest-Haddad", gender="male", birth_date=born(11, 8, 15),
              mrn="ZZ1000008", oncologist=PEDS_ONCOLOGIST,
              story="11-year-old, eligible, but the last weight is 45 days old; only an antipyretic is ordered")
    visits(c, 45, 19, 2)
    relapsed_b_all(c, 1100, 19, remission_days=1060)
    frontline_history(c, 1100)
    c.cd22_percent(15, 86)
    c.vitals(45, weight=(36.5, "kg"), height=(146, "cm"))
    clean_labs(c)
    supportive(c, "acyclovir", "smx-tmp", "peg")
    order_for(c, 146, 36.5, 0.8, "cycle 1 day 1")
    c.premedication_drafts(corticosteroid=False, antihistamine=False)
    return c


def elevated_bilirubin() -> Chart:
    c = Chart("elevated-bilirubin", given="Daniel", family="Zztest-Kowalski", gender="male",
              birth_date=born(45, 9, 4), mrn="ZZ1000009", oncologist=ADULT_ONCOLOGIST,
              story="45-year-old, eligible, total bilirubin 41 umol/L (ULN 21): about 2 x ULN before the dose")
    visits(c, 28, 10, 1)
    relapsed_b_all(c, 700, 28, remission_days=650)
    c.cd22_percent(24, 97)
    c.vitals(1, weight=(79.0, "kg"))
    c.vitals(120, height=(176, "cm"))
    c.liver(1, bilirubin=41, ast=38, alt=50, bilirubin_unit="umol/L", bilirubin_uln=21)
    c.liver(8, bilirubin=17, ast=30, alt=41, bilirubin_unit="umol/L", bilirubin_uln=21)
    c.counts(1, 1.9, 110, 0.2, unit="10*9/L")
    c.qtc(4, 420)
    supportive(c, "acyclovir", "ursodiol", "pantoprazole")
    order_for(c, 176, 79.0, 0.8, "cycle 1 day 1")
    c.premedication_drafts()
    return c


def prior_hsct() -> Chart:
    c = Chart("prior-hsct", given="Chloe", family="Zztest-Dubois", gender="female", birth_date=born(28, 3, 17),
              mrn="ZZ1000010", oncologist=ADULT_ONCOLOGIST,
              story="28-year-old, B-ALL relapsed after an allogeneic stem cell transplant 15 months ago; "
                    "height and weight in inches and pounds")
    visits(c, 30, 13, 2)
    relapsed_b_all(c, 820, 30, remission_days=760)
    c.condition(ICD10, "Z94.84", "Stem cells transplant status", onset_days=455, recorded_days=440,
                note="Allogeneic HSCT (matched unrelated donor) in first remission.")
    c.cd22_percent(27, 89)
    c.vitals(2, weight=(132, "[lb_av]"))
    c.vitals(90, height=(65, "[in_i]"))
    clean_labs(c, anc=1.3, platelets=58)
    c.coded_result(*HCG_URINE, 2, positive=False)
    supportive(c, "acyclovir", "smx-tmp", "magnesium", "ursodiol")
    order_for(c, 65 * 2.54, 132 * 0.45359237, 0.8, "cycle 1 day 1")
    c.premedication_drafts()
    return c


def cycle_2_in_cr() -> Chart:
    c = Chart("cycle-2-in-cr", given="James", family="Zztest-Oyelaran", gender="male", birth_date=born(38, 6, 23),
              mrn="ZZ1000011", oncologist=ADULT_ONCOLOGIST,
              story="38-year-old who had cycle 1 (days 1, 8, 15) and reached complete remission: cycle 2 day 1 "
                    "at 0.5 mg/m2")
    visits(c, 40, 22, 15, 8, 3)
    relapsed_b_all(c, 1000, 40, remission_days=950)
    c.cd22_percent(35, 90)
    c.vitals(3, weight=(74.0, "kg"))
    c.vitals(25, weight=(75.1, "kg"))
    c.vitals(100, height=(178, "cm"))
    bsa = mosteller(178, 75.1)
    for day, mg_per_m2 in ((22, 0.8), (15, 0.5), (8, 0.5)):
        dose = round(mg_per_m2 * bsa, 2)
        request = c.rxnorm_request(*INOTUZUMAB[1:], status="completed", days=day + 1,
                                   instructions=f"{dose} mg IV over 1 hour", dose=(dose, "mg"))
        c.add({"resourceType": "MedicationAdministration", "status": "completed",
               "medicationCodeableConcept": concept(*INOTUZUMAB), "subject": c.subject,
               "effectiveDateTime": ago(day, "10:15"), "request": {"reference": request},
               "dosage": {"route": concept(SNOMED, "47625008", "Intravenous route"), "dose": quantity(dose, "mg")}},
              "medadmin")
    c.disease_status(3, *FULL_REMISSION)
    c.counts(23, 1.5, 88, 0.6, unit="10*9/L")
    clean_labs(c, blasts=None, anc=2.1, platelets=132, unit="10*9/L")
    supportive(c, "acyclovir", "smx-tmp", "ursodiol")
    order_for(c, 178, 74.0, 0.5, "cycle 2 day 1")
    c.premedication_drafts()
    return c


def cycle_4_no_response() -> Chart:
    c = Chart("cycle-4-no-response", given="William", family="Zztest-Achterberg", gender="male",
              birth_date=born(44, 2, 21), mrn="ZZ1000017", oncologist=ADULT_ONCOLOGIST,
              story="44-year-old who received three full cycles without reaching CR/CRi (progression after cycles 2 "
                    "and 3): a 4th cycle is ordered, which the label advises against")
    visits(c, 90, 77, 56, 28, 3)
    relapsed_b_all(c, 1400, 90, remission_days=1350)
    c.cd22_percent(82, 87)
    c.vitals(3, weight=(70.0, "kg"))
    c.vitals(30, weight=(71.2, "kg"))
    c.vitals(120, height=(170, "cm"))
    bsa = mosteller(170, 71.2)
    for day_one in (77, 56, 28):
        for offset, mg_per_m2 in ((0, 0.8), (7, 0.5), (14, 0.5)):
            dose = round(mg_per_m2 * bsa, 2)
            c.add({"resourceType": "MedicationAdministration", "status": "completed",
                   "medicationCodeableConcept": concept(*INOTUZUMAB), "subject": c.subject,
                   "effectiveDateTime": ago(day_one - offset, "10:15"),
                   "dosage": {"route": concept(SNOMED, "47625008", "Intravenous route"),
                              "dose": quantity(dose, "mg")}}, "medadmin")
    c.disease_status(35, *WORSENED)
    c.disease_status(3, *WORSENED)
    clean_labs(c, blasts=None, anc=1.4, platelets=71, unit="10*9/L")
    supportive(c, "acyclovir", "smx-tmp", "ondansetron")
    order_for(c, 170, 70.0, 0.8, "cycle 4 day 1")
    c.premedication_drafts()
    return c


def dose_below_label() -> Chart:
    c = Chart("dose-below-label", given="George", family="Zztest-Nwachukwu", gender="male",
              birth_date=born(58, 7, 30), mrn="ZZ1000018", oncologist=ADULT_ONCOLOGIST,
              story="58-year-old, eligible; cycle 1 day 1 ordered at 0.3 mg/m2, well below the label's 0.5-0.8 mg/m2")
    visits(c, 27, 9, 2)
    relapsed_b_all(c, 1000, 27, remission_days=950)
    c.cd22_percent(22, 96)
    c.vitals(2, weight=(90.0, "kg"))
    c.vitals(210, height=(183, "cm"))
    clean_labs(c)
    supportive(c, "pantoprazole", "acyclovir", "magnesium")
    order_for(c, 183, 90.0, 0.3, "cycle 1 day 1")
    c.premedication_drafts()
    return c


def name_only_order() -> Chart:
    c = Chart("name-only-order", given="Ryan", family="Zztest-Castellanos", gender="male", birth_date=born(61, 0, 8),
              mrn="ZZ1000012", oncologist=ADULT_ONCOLOGIST,
              story="61-year-old, eligible; the order carries only the text 'Besponsa' (no code)")
    visits(c, 33, 11, 2)
    relapsed_b_all(c, 1300, 33, remission_days=1250)
    c.cd22_percent(29, 94)
    c.vitals(2, weight=(81.0, "kg"))
    c.vitals(150, height=(172, "cm"))
    clean_labs(c)
    supportive(c, "acyclovir", "pantoprazole")
    order_for(c, 172, 81.0, 0.8, "cycle 1 day 1",
              medication={"medicationCodeableConcept": {"text": "Besponsa 0.9 mg vial for infusion"}})
    c.premedication_drafts()
    return c


def pregnancy_positive() -> Chart:
    c = Chart("pregnancy-positive", given="Mia", family="Zztest-Fernandes", gender="female", birth_date=born(26, 8, 2),
              mrn="ZZ1000013", oncologist=ADULT_ONCOLOGIST,
              story="26-year-old, eligible, with a positive urine pregnancy test yesterday")
    visits(c, 26, 9, 1)
    relapsed_b_all(c, 500, 26, remission_days=460)
    c.cd22_percent(21, 83)
    c.vitals(1, weight=(58.5, "kg"))
    c.vitals(80, height=(163, "cm"))
    clean_labs(c)
    c.coded_result(*HCG_URINE, 1, positive=True)
    c.coded_result(*HCG_SERUM, 40, positive=False)
    supportive(c, "acyclovir", "ondansetron")
    order_for(c, 163, 58.5, 0.8, "cycle 1 day 1")
    c.premedication_drafts()
    return c


def vod_history() -> Chart:
    c = Chart("vod-history", given="Thomas", family="Zztest-Lindgren", gender="male", birth_date=born(41, 10, 14),
              mrn="ZZ1000014", oncologist=ADULT_ONCOLOGIST,
              story="41-year-old, eligible, with hepatic veno-occlusive disease during earlier therapy (resolved)")
    visits(c, 31, 12, 2)
    relapsed_b_all(c, 950, 31, remission_days=900)
    c.condition(ICD10, "K76.5", "Hepatic veno-occlusive disease", onset_days=560, recorded_days=558,
                clinical="resolved", abated_days=520, note="Moderate VOD/SOS during consolidation; resolved "
                                                           "with supportive care.")
    c.cd22_percent(27, 79)
    c.vitals(2, weight=(83.4, "kg"))
    c.vitals(200, height=(184, "cm"))
    clean_labs(c)
    supportive(c, "acyclovir", "ursodiol")
    order_for(c, 184, 83.4, 0.8, "cycle 1 day 1")
    c.premedication_drafts()
    return c


def cycle_total_as_one_dose() -> Chart:
    c = Chart("cycle-total-dose", given="Helen", family="Zztest-Papadopoulos", gender="female",
              birth_date=born(57, 1, 27), mrn="ZZ1000015", oncologist=ADULT_ONCOLOGIST,
              story="57-year-old, eligible; the order is the whole cycle-1 total (1.8 mg/m2) entered as one dose")
    visits(c, 29, 10, 2)
    relapsed_b_all(c, 880, 29, remission_days=830)
    c.cd22_percent(25, 91)
    c.vitals(2, weight=(58.0, "kg"))
    c.vitals(180, height=(162, "cm"))
    clean_labs(c)
    supportive(c, "levothyroxine", "acyclovir")
    order_for(c, 162, 58.0, 1.8, "cycle 1")
    c.premedication_drafts()
    return c


def aml_no_inotuzumab() -> Chart:
    c = Chart("aml-other-order", given="Robert", family="Zztest-Whitfield", gender="male", birth_date=born(67, 5, 5),
              mrn="ZZ1000016", oncologist=ADULT_ONCOLOGIST,
              story="67-year-old with acute myeloid leukemia ordered cytarabine: the service must stay silent")
    visits(c, 14, 4)
    c.condition(ICD10, "C92.00", "Acute myeloblastic leukemia, not having achieved remission", onset_days=14)
    c.vitals(1, weight=(77.0, "kg"), height=(175, "cm"))
    clean_labs(c, history=False)
    supportive(c, "allopurinol", "acyclovir")
    c.draft({"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
             "medicationCodeableConcept": concept(FORMULARY, "F-CYTA100", "cytarabine 100 mg/mL injection",
                                                  "cytarabine 100 mg/mL injection"),
             "subject": c.subject, "authoredOn": day_ago(0), "requester": {"reference": c.oncologist},
             "dosageInstruction": [{"text": "per protocol, continuous infusion days 1-7"}]}, "cytarabine")
    return c


CHARTS = [eligible_child, eligible_adult, infant, cd22_negative, cd22_unknown, newly_diagnosed, t_all, stale_weight,
          elevated_bilirubin, prior_hsct, cycle_2_in_cr, cycle_4_no_response, name_only_order, pregnancy_positive,
          vod_history, cycle_total_as_one_dose, dose_below_label, aml_no_inotuzumab]
