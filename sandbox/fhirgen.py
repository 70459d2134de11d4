"""Builders for the synthetic sandbox charts: one ``Chart`` per patient, written out as a FHIR R4 transaction Bundle.

Dates: every chart is written as if today were ``ANCHOR`` (``Bundle.timestamp``). ``load-sandbox`` shifts every date
by (today - ANCHOR) days when it loads the files, so "3 days ago" in a file stays 3 days ago on the day it is loaded.
Here a date is always given as an offset: ``ago(3)`` is 3 days before the anchor.

Codes: the codes that matter to the service come from service/knowledge/*.yaml only. Everything else (noise labs,
vitals, unrelated medications) is coded in a clearly local, fake code system, as many EHRs send local codes.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

ANCHOR = date(2026, 11, 25)
SANDBOX = "https://sandbox.inotuzumab-cds.example"
SANDBOX_TAG = {"system": f"{SANDBOX}/CodeSystem/sandbox", "code": "relative-dates",
               "display": "Synthetic sandbox data: dates are written as of Bundle.timestamp and shifted to the "
                          "day of loading"}
TEST_DATA = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST",
             "display": "test health data"}
LOCAL_LAB = f"{SANDBOX}/CodeSystem/local-observation"
FORMULARY = f"{SANDBOX}/CodeSystem/formulary"
MRN = f"{SANDBOX}/fhir/sid/mrn"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
V3_INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

ORGANIZATION = "Organization/inoz-org-cancer-center"
PEDS_ONCOLOGIST = "Practitioner/inoz-prac-peds-onc"
ADULT_ONCOLOGIST = "Practitioner/inoz-prac-adult-onc"


def ago(days: float, at: str = "09:30") -> str:
    """A dateTime ``days`` before the anchor, at a fixed UTC time of day."""
    hour, minute = (int(x) for x in at.split(":"))
    moment = datetime.combine(ANCHOR, time(hour, minute), tzinfo=timezone.utc) - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def day_ago(days: int) -> str:
    """A date (no time) ``days`` before the anchor."""
    return (ANCHOR - timedelta(days=days)).isoformat()


def born(years: int, months: int = 0, days: int = 0) -> str:
    """The birth date of someone exactly that old on the anchor day."""
    month_index = ANCHOR.year * 12 + ANCHOR.month - 1 - years * 12 - months
    year, month = divmod(month_index, 12)
    day = min(ANCHOR.day, 28)
    return (date(year, month + 1, day) - timedelta(days=days)).isoformat()


def coding(system: str, code: str, display: str) -> dict:
    return {"system": system, "code": code, "display": display}


def concept(system: str, code: str, display: str, text: str | None = None) -> dict:
    out = {"coding": [coding(system, code, display)]}
    if text:
        out["text"] = text
    return out


def quantity(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def mosteller(height_cm: float, weight_kg: float) -> float:
    """BSA in m2 (Mosteller), used only to write orders whose dose matches (or misses) the label on purpose."""
    return round((height_cm * weight_kg / 3600) ** 0.5, 2)


# Local (fake-coded) tests and vitals that the service must ignore: (code, display, unit, low, high, decimals).
NOISE_LABS = [("HGB", "Hemoglobin", "g/dL", 8.2, 12.6, 1), ("WBC", "White blood cell count", "10*3/uL", 1.8, 9.5, 1),
              ("NA", "Sodium", "mmol/L", 135, 144, 0), ("K", "Potassium", "mmol/L", 3.5, 4.9, 1),
              ("CREAT", "Creatinine", "mg/dL", 0.3, 0.9, 2), ("URIC", "Uric acid", "mg/dL", 2.5, 6.5, 1),
              ("LDH", "Lactate dehydrogenase", "U/L", 180, 420, 0), ("MG", "Magnesium", "mg/dL", 1.7, 2.3, 1),
              ("ALB", "Albumin", "g/dL", 3.2, 4.4, 1)]
NOISE_VITALS = [("HR", "Heart rate", "/min", 72, 118, 0), ("TEMP", "Body temperature", "Cel", 36.4, 37.6, 1),
                ("RR", "Respiratory rate", "/min", 14, 24, 0), ("SPO2", "Oxygen saturation", "%", 95, 100, 0)]


class Chart:
    """One synthetic patient's record; every resource id starts with the patient's id."""

    def __init__(self, slug: str, *, given: str, family: str, gender: str, birth_date: str, mrn: str,
                 oncologist: str, story: str):
        self.slug, self.pid, self.story = slug, f"inoz-{slug}", story
        self.subject = {"reference": f"Patient/{self.pid}", "display": f"{given} {family}"}
        self.oncologist = oncologist
        self.rng = random.Random(slug)
        self.counter: dict[str, int] = {}
        self.resources: list[dict] = []
        self.drafts: list[dict] = []
        self.encounter_today: str | None = None
        self.add({"resourceType": "Patient", "id": self.pid, "active": True,
                  "identifier": [{"use": "usual", "type": concept(
                      "http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number"),
                      "system": MRN, "value": mrn}],
                  "name": [{"use": "official", "family": family, "given": [given],
                            "text": f"{given} {family}"}],
                  "telecom": [{"system": "phone", "value": f"555-01{self.rng.randint(10, 99)}", "use": "home"}],
                  "gender": gender, "birthDate": birth_date,
                  "address": [{"line": [f"{self.rng.randint(10, 990)} Sandbox Lane"], "city": "Testville",
                               "state": "ZZ", "postalCode": "00000", "country": "ZZ"}],
                  "generalPractitioner": [{"reference": oncologist}],
                  "managingOrganization": {"reference": ORGANIZATION}}, plain_id=True)

    # ------------------------------------------------------------------ plumbing

    def _next_id(self, kind: str) -> str:
        self.counter[kind] = self.counter.get(kind, 0) + 1
        return f"{self.pid}-{kind}-{self.counter[kind]}"

    def add(self, resource: dict, kind: str | None = None, plain_id: bool = False) -> str:
        if not plain_id:
            resource = {"resourceType": resource["resourceType"],
                        "id": self._next_id(kind or resource["resourceType"].lower()), **resource}
        resource.setdefault("meta", {"security": [TEST_DATA]})
        self.resources.append(resource)
        return f"{resource['resourceType']}/{resource['id']}"

    def value(self, low: float, high: float, decimals: int) -> float:
        number = round(self.rng.uniform(low, high), decimals)
        return int(number) if decimals == 0 else number

    # ------------------------------------------------------------------ encounters and noise

    def encounter(self, days: int, kind: str, text: str, *, inpatient_days: int = 0, today: bool = False) -> str:
        period = {"start": day_ago(0)} if today else {"start": ago(days, "08:00")}
        if inpatient_days:
            period["end"] = ago(days - inpatient_days, "14:00")
        elif not today:
            period["end"] = ago(days, "12:30")
        reference = self.add({"resourceType": "Encounter",
                              "status": "in-progress" if today else "finished",
                              "class": coding(ACT_CODE, "IMP" if inpatient_days else "AMB",
                                              "inpatient encounter" if inpatient_days else "ambulatory"),
                              "type": [{"text": text}], "subject": self.subject,
                              "participant": [{"individual": {"reference": self.oncologist}}],
                              "period": period, "serviceProvider": {"reference": ORGANIZATION}}, "enc")
        if today:
            self.encounter_today = reference.split("/")[1]
        return reference

    def noise(self, days: int, encounter: str, *, labs: bool = True) -> None:
        """Unrelated vitals and labs with local codes: realistic clutter the service must skip."""
        tests = [(t, "vital-signs") for t in NOISE_VITALS] + ([(t, "laboratory") for t in NOISE_LABS] if labs else [])
        for (code, display, unit, low, high, decimals), category in tests:
            self.add({"resourceType": "Observation", "status": "final",
                      "category": [concept(OBS_CATEGORY, category, category.replace("-", " ").title())],
                      "code": concept(LOCAL_LAB, code, display, display), "subject": self.subject,
                      "encounter": {"reference": encounter}, "effectiveDateTime": ago(days, "07:45"),
                      "valueQuantity": quantity(self.value(low, high, decimals), unit)}, "obs")

    def local_medication(self, name: str, code: str, status: str, days: int, instructions: str) -> str:
        return self.add({"resourceType": "MedicationRequest", "status": status, "intent": "order",
                         "medicationCodeableConcept": concept(FORMULARY, code, name, name),
                         "subject": self.subject, "authoredOn": ago(days, "10:00"),
                         "requester": {"reference": self.oncologist},
                         "dosageInstruction": [{"text": instructions}]}, "medrx")

    # ------------------------------------------------------------------ clinical records that matter

    def condition(self, system: str, code: str, display: str, *, onset_days: int, recorded_days: int | None = None,
                  clinical: str = "active", abated_days: int | None = None, note: str | None = None) -> str:
        resource = {"resourceType": "Condition",
                    "clinicalStatus": concept(CLINICAL, clinical, clinical.title()),
                    "verificationStatus": concept(VERIFICATION, "confirmed", "Confirmed"),
                    "category": [concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
                    "code": concept(system, code, display, display), "subject": self.subject,
                    "onsetDateTime": ago(onset_days, "11:00"),
                    "recordedDate": ago(recorded_days if recorded_days is not None else onset_days, "15:00"),
                    "recorder": {"reference": self.oncologist}}
        if abated_days is not None:
            resource["abatementDateTime"] = ago(abated_days, "11:00")
        if note:
            resource["note"] = [{"text": note}]
        return self.add(resource, "cond")

    def observation(self, system: str, code: str, display: str, days: float, *, category: str = "laboratory",
                    at: str = "06:40", **value) -> str:
        resource = {"resourceType": "Observation", "status": value.pop("status", "final"),
                    "category": [concept(OBS_CATEGORY, category, category.replace("-", " ").title())],
                    "code": concept(system, code, display, display), "subject": self.subject,
                    "effectiveDateTime": ago(days, at), "issued": ago(days, "11:15"), **value}
        return self.add(resource, "obs")

    def measured(self, code: str, display: str, days: float, amount: float, unit: str, **extra) -> str:
        return self.observation(LOINC, code, display, days, valueQuantity=quantity(amount, unit), **extra)

    def vitals(self, days: float, *, weight: tuple[float, str] | None = None,
               height: tuple[float, str] | None = None) -> None:
        if weight:
            self.measured("29463-7", "Body weight", days, weight[0], weight[1], category="vital-signs", at="08:10")
        if height:
            self.measured("8302-2", "Body height", days, height[0], height[1], category="vital-signs", at="08:12")

    def ranged(self, code: str, display: str, days: float, amount: float, unit: str, low: float, high: float) -> str:
        return self.measured(code, display, days, amount, unit,
                             referenceRange=[{"low": quantity(low, unit), "high": quantity(high, unit)}])

    def liver(self, days: float, bilirubin: float = 0.5, ast: int = 28, alt: int = 24, *,
              bilirubin_unit: str = "mg/dL", bilirubin_uln: float = 1.2) -> None:
        self.ranged("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", days, bilirubin, bilirubin_unit,
                    round(bilirubin_uln / 6, 1), bilirubin_uln)
        self.ranged("1920-8", "AST [Enzymatic activity/volume] in Serum or Plasma", days, ast, "U/L", 10, 40)
        self.ranged("1742-6", "ALT [Enzymatic activity/volume] in Serum or Plasma", days, alt, "U/L", 7, 56)

    def counts(self, days: float, anc: float, platelets: float, blasts: float | None = None, *,
               unit: str = "10*3/uL") -> None:
        self.measured("751-8", "Neutrophils [#/volume] in Blood by Automated count", days, anc, unit)
        self.measured("777-3", "Platelets [#/volume] in Blood by Automated count", days, platelets, unit)
        if blasts is not None:
            self.measured("30376-8", "Blasts [#/volume] in Blood", days, blasts, unit)

    def qtc(self, days: float, ms: int) -> str:
        return self.measured("8636-3", "QTc interval", days, ms, "ms", category="procedure", at="10:20")

    def coded_result(self, system: str, code: str, display: str, days: float, positive: bool, **extra) -> str:
        value = (concept(SNOMED, "10828004", "Positive") if positive else concept(SNOMED, "260385009", "Negative"))
        return self.observation(system, code, display, days, valueCodeableConcept=value, **extra)

    def disease_status(self, days: float, code: str, display: str) -> str:
        return self.observation(LOINC, "97509-4", "Cancer disease status", days, category="exam",
                                valueCodeableConcept=concept(SNOMED, code, display))

    def cd22_percent(self, days: float, percent: float, method: str = "Flow cytometry, bone marrow aspirate") -> str:
        return self.observation(LOINC, "14017-8", "CD22 cells/100 cells in Blood (candidate, unverified)", days,
                                valueQuantity=quantity(percent, "%"), method={"text": method})

    def immunophenotype(self, days: float, narrative: str, components: list[dict] | None = None) -> str:
        extra = {"component": components} if components else {}
        return self.observation(LOINC, "101119-6", "Leukemia/lymphoma immunophenotyping panel", days,
                                valueString=narrative, **extra)

    def rxnorm_request(self, code: str, display: str, *, status: str, days: float | None, instructions: str,
                       dose: tuple[float, str] | None = None, draft: bool = False) -> str:
        dosage: dict = {"text": instructions}
        if dose:
            dosage["doseAndRate"] = [{"doseQuantity": quantity(*dose)}]
        resource = {"resourceType": "MedicationRequest", "status": status, "intent": "order",
                    "medicationCodeableConcept": concept(RXNORM, code, display, display),
                    "subject": self.subject, "requester": {"reference": self.oncologist},
                    "dosageInstruction": [dosage]}
        resource["authoredOn"] = day_ago(0) if days is None else ago(days, "10:30")
        if draft:
            return self.draft(resource, display.split()[0].lower())
        return self.add(resource, "medrx")

    # ------------------------------------------------------------------ draft orders (never stored on the server)

    def draft(self, resource: dict, kind: str) -> str:
        resource = {"resourceType": resource["resourceType"], "id": f"{self.pid}-draft-{kind}",
                    "meta": {"security": [TEST_DATA]}, **resource}
        if self.encounter_today:
            resource["encounter"] = {"reference": f"Encounter/{self.encounter_today}"}
        self.drafts.append(resource)
        return f"{resource['resourceType']}/{resource['id']}"

    def inotuzumab_order(self, dose_mg: float, note: str, *, medication: dict | None = None) -> str:
        resource = {"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
                    **(medication or {"medicationCodeableConcept": concept(
                        RXNORM, "1942954", "inotuzumab ozogamicin 0.9 MG Injection",
                        "inotuzumab ozogamicin 0.9 mg injection")}),
                    "subject": self.subject, "authoredOn": day_ago(0), "requester": {"reference": self.oncologist},
                    "dosageInstruction": [{
                        "text": f"{dose_mg} mg IV over 1 hour ({note})",
                        "route": concept(SNOMED, "47625008", "Intravenous route", "Intravenous"),
                        "doseAndRate": [{"doseQuantity": quantity(dose_mg, "mg")}]}]}
        return self.draft(resource, "inotuzumab")

    def premedication_drafts(self, methylprednisolone_mg: float | None = None, *, corticosteroid: bool = True,
                             antipyretic: bool = True, antihistamine: bool = True) -> None:
        protocol = "30-60 minutes before inotuzumab, per the institutional premedication protocol"
        if corticosteroid:
            self.rxnorm_request("6902", "methylprednisolone", status="draft", days=None, draft=True,
                                instructions=protocol, dose=(methylprednisolone_mg, "mg") if methylprednisolone_mg
                                else None)
        if antipyretic:
            self.rxnorm_request("161", "acetaminophen", status="draft", days=None, draft=True, instructions=protocol)
        if antihistamine:
            self.rxnorm_request("3498", "diphenhydramine", status="draft", days=None, draft=True,
                                instructions=protocol)

    # ------------------------------------------------------------------ output

    def bundle(self) -> dict:
        return transaction(self.resources, f"Synthetic patient {self.subject['display']} ({self.slug}): {self.story}")

    def draft_orders(self) -> dict:
        return {"resourceType": "Bundle", "type": "collection", "timestamp": f"{ANCHOR.isoformat()}T12:00:00Z",
                "meta": {"tag": [SANDBOX_TAG], "security": [TEST_DATA]},
                "entry": [{"resource": r} for r in self.drafts]}


def transaction(resources: list[dict], description: str) -> dict:
    """A transaction of PUTs with fixed ids: loading it twice leaves the server as loading it once."""
    return {"resourceType": "Bundle", "type": "transaction", "timestamp": f"{ANCHOR.isoformat()}T12:00:00Z",
            "meta": {"tag": [SANDBOX_TAG], "security": [TEST_DATA]},
            "identifier": {"system": f"{SANDBOX}/bundle", "value": description.split(":")[0]},
            "entry": [{"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                      for r in resources]}
