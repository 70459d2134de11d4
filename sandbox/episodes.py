"""Recurring pieces of the sandbox stories: the relapsed B-ALL history, clinic visits with their clutter, normal
labs before a dose, supportive medications, and an inotuzumab order dosed from the chart's own BSA."""

from __future__ import annotations

from fhirgen import ICD10, LOINC, RXNORM, SNOMED, Chart, mosteller

B_ALL = (SNOMED, "277571004", "B-cell acute lymphoblastic leukemia (disorder)")
RELAPSE = (ICD10, "C91.02", "Acute lymphoblastic leukemia, in relapse")
WORSENED = ("271299001", "Patient's condition worsened (finding)")
FULL_REMISSION = ("103338009", "In full remission (qualifier value)")
HCG_URINE = (LOINC, "2106-3", "Choriogonadotropin [Presence] in Urine")
HCG_SERUM = (LOINC, "2110-5", "Choriogonadotropin.beta [Presence] in Serum or Plasma")
INOTUZUMAB = (RXNORM, "1942954", "inotuzumab ozogamicin 0.9 MG Injection")

# Unrelated medications (local formulary codes): (name, code, instructions).
SUPPORTIVE = {
    "ondansetron": ("ondansetron 4 mg tablet", "F-ONDAN4", "4 mg by mouth every 8 hours as needed for nausea"),
    "acyclovir": ("acyclovir 400 mg tablet", "F-ACYC400", "400 mg by mouth twice daily (antiviral prophylaxis)"),
    "smx-tmp": ("sulfamethoxazole-trimethoprim 800-160 mg tablet", "F-SMXTMP", "1 tablet twice daily on Mon/Tue"),
    "allopurinol": ("allopurinol 100 mg tablet", "F-ALLO100", "100 mg by mouth daily"),
    "ursodiol": ("ursodiol 300 mg capsule", "F-URSO300", "300 mg by mouth twice daily"),
    "pantoprazole": ("pantoprazole 40 mg tablet", "F-PANTO40", "40 mg by mouth daily before breakfast"),
    "levothyroxine": ("levothyroxine 75 mcg tablet", "F-LEVO75", "75 mcg by mouth daily"),
    "peg": ("polyethylene glycol 3350 oral powder", "F-PEG3350", "17 g by mouth daily as needed"),
    "magnesium": ("magnesium oxide 400 mg tablet", "F-MGOX400", "400 mg by mouth twice daily"),
}


def supportive(c: Chart, *names: str, days: int = 20) -> None:
    for name in names:
        label, code, instructions = SUPPORTIVE[name]
        c.local_medication(label, code, "active", days, instructions)


def frontline_history(c: Chart, diagnosed_days: int) -> None:
    """Completed induction chemotherapy from years ago, one of it an RxNorm-coded corticosteroid that is not
    active: it must never count as today's premedication."""
    c.local_medication("vincristine 1 mg/mL injection", "F-VCR1", "completed", diagnosed_days - 2,
                       "induction, weekly x4 (completed)")
    c.rxnorm_request("3264", "dexamethasone", status="completed", days=diagnosed_days - 2,
                     instructions="induction, days 1-28 (completed)")


def visits(c: Chart, *days: int, labs: bool = True) -> str:
    """Past clinic visits with their clutter, then today's infusion-clinic encounter."""
    for day in days:
        c.noise(day, c.encounter(day, "clinic", "Hematology-oncology clinic visit"), labs=labs)
    return c.encounter(0, "infusion", "Infusion clinic: inotuzumab ozogamicin", today=True)


def relapsed_b_all(c: Chart, diagnosed_days: int, relapse_days: int, *, remission_days: int | None = None) -> None:
    c.condition(*B_ALL, onset_days=diagnosed_days, clinical="relapse")
    if remission_days:
        c.condition(ICD10, "C91.01", "Acute lymphoblastic leukemia, in remission", onset_days=remission_days,
                    clinical="resolved", abated_days=relapse_days)
    c.condition(*RELAPSE, onset_days=relapse_days, recorded_days=relapse_days - 1)
    c.disease_status(relapse_days, *WORSENED)


def clean_labs(c: Chart, *, blasts: float | None = 0.4, unit: str = "10*3/uL", anc: float = 1.6,
               platelets: float = 96, history: bool = True) -> None:
    """Normal liver tests and counts before today's dose, with older series that page past one search page."""
    c.liver(1)
    c.counts(1, anc, platelets, blasts, unit=unit)
    if history:
        for day in (9, 16, 23):
            c.liver(day, bilirubin=0.6, ast=33, alt=29)
            c.counts(day, round(anc * 0.8, 1), round(platelets * 0.9), unit=unit)
    c.qtc(4, 412)


def order_for(c: Chart, height_cm: float, weight_kg: float, mg_per_m2: float, note: str, **order) -> float:
    dose = round(mg_per_m2 * mosteller(height_cm, weight_kg), 2)
    c.inotuzumab_order(dose, note, **order)
    return dose
