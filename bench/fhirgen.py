"""FHIR R4 JSON builders for the benchmark workloads, shaped like what an EHR really sends.

Resources carry the usual EHR padding (meta, identifiers, categories, displays, performers, reference ranges)
so that body sizes and parse costs are realistic. Relevant codes come from service/knowledge/*.yaml; the
filler codes below are ordinary labs, vitals, diagnoses, drugs and procedures that no rule reads: they exist
only to make a long chart, and nothing clinical is decided from them.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

# Filler observations (code, display, UCUM unit, low, high): not in any knowledge value set.
FILLER_LABS = [
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 135, 145),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 5.1),
    ("2075-0", "Chloride [Moles/volume] in Serum or Plasma", "mmol/L", 98, 107),
    ("2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "mmol/L", 22, 29),
    ("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL", 7, 20),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.5, 1.1),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 99),
    ("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 8.6, 10.3),
    ("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", 3.5, 5.0),
    ("6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 40, 130),
    ("2532-0", "Lactate dehydrogenase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 120, 246),
    ("3084-1", "Urate [Mass/volume] in Serum or Plasma", "mg/dL", 2.5, 7.0),
    ("19123-9", "Magnesium [Mass/volume] in Serum or Plasma", "mg/dL", 1.6, 2.6),
    ("2777-1", "Phosphate [Mass/volume] in Serum or Plasma", "mg/dL", 2.5, 4.5),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12, 16),
    ("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%", 36, 46),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 4.0, 11.0),
    ("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "10*6/uL", 4.0, 5.2),
    ("787-2", "MCV [Entitic volume] by Automated count", "fL", 80, 100),
    ("731-0", "Lymphocytes [#/volume] in Blood", "10*3/uL", 1.0, 4.8),
    ("742-7", "Monocytes [#/volume] in Blood", "10*3/uL", 0.2, 0.9),
    ("6301-6", "INR in Platelet poor plasma by Coagulation assay", "{INR}", 0.9, 1.1),
    ("3173-2", "aPTT in Blood by Coagulation assay", "s", 25, 35),
    ("3255-7", "Fibrinogen [Mass/volume] in Platelet poor plasma by Coagulation assay", "mg/dL", 200, 400),
    ("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "mg/L", 0, 5),
    ("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL", 15, 150),
]
FILLER_VITALS = [
    ("8867-4", "Heart rate", "/min", 60, 100),
    ("9279-1", "Respiratory rate", "/min", 12, 20),
    ("8310-5", "Body temperature", "Cel", 36.1, 37.2),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 95, 100),
    ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 18.5, 25),
]
FILLER_CONDITIONS = [
    ("I10", "Essential (primary) hypertension"), ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("E78.5", "Hyperlipidemia, unspecified"), ("K21.9", "Gastro-esophageal reflux disease without esophagitis"),
    ("F41.9", "Anxiety disorder, unspecified"), ("D64.9", "Anemia, unspecified"), ("R50.9", "Fever, unspecified"),
    ("N39.0", "Urinary tract infection, site not specified"), ("J18.9", "Pneumonia, unspecified organism"),
    ("R11.2", "Nausea with vomiting, unspecified"), ("E87.6", "Hypokalemia"), ("G62.9", "Polyneuropathy, unspecified"),
    ("R53.83", "Other fatigue"), ("M54.50", "Low back pain, unspecified"), ("J45.909", "Unspecified asthma"),
    ("B37.0", "Candidal stomatitis"), ("E83.42", "Hypomagnesemia"), ("R51.9", "Headache, unspecified"),
]
FILLER_DRUGS = [
    ("26225", "ondansetron 8 MG Oral Tablet"), ("519", "allopurinol 300 MG Oral Tablet"),
    ("281", "acyclovir 400 MG Oral Tablet"), ("4450", "fluconazole 200 MG Oral Tablet"),
    ("10831", "sulfamethoxazole / trimethoprim 800/160 MG Oral Tablet"), ("40790", "pantoprazole 40 MG Oral Tablet"),
    ("7646", "omeprazole 20 MG Delayed Release Oral Capsule"), ("11124", "vancomycin 1000 MG Injection"),
    ("20481", "cefepime 2000 MG Injection"), ("29561", "meropenem 1000 MG Injection"),
    ("82122", "levofloxacin 500 MG Oral Tablet"), ("5224", "heparin sodium 5000 UNT/ML Injectable Solution"),
    ("7052", "morphine sulfate 2 MG/ML Injectable Solution"), ("6470", "lorazepam 1 MG Oral Tablet"),
    ("3355", "docusate sodium 100 MG Oral Capsule"), ("8591", "potassium chloride 20 MEQ Extended Release Tablet"),
    ("62427", "ursodiol 300 MG Oral Capsule"), ("68442", "filgrastim 0.48 MG/ML Injectable Solution"),
]
FILLER_PROCEDURES = [
    ("396487001", "Sentinel lymph node biopsy"), ("277762005", "Lumbar puncture"),
    ("234326005", "Bone marrow aspiration"), ("233527006", "Insertion of central venous catheter"),
    ("116859006", "Transfusion of blood product"), ("241615005", "Magnetic resonance imaging of head"),
]


def coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict:
    return {"coding": [coding(system, code, display)], **({"text": text or display} if (text or display) else {})}


class Maker:
    """Builds resources for one patient from one seeded random source: same seed, same bytes."""

    def __init__(self, rng: random.Random, patient_id: str, anchor: datetime):
        self.rng = rng
        self.patient_id = patient_id
        self.anchor = anchor.astimezone(timezone.utc).replace(microsecond=0)
        self._counter = 0

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ident(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter:05d}"

    def when(self, days_ago: float) -> str:
        moment = self.anchor - timedelta(days=days_ago, minutes=self.rng.randrange(0, 600))
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _common(self, kind: str, prefix: str, days_ago: float) -> dict:
        rid = self.ident(prefix)
        return {"resourceType": kind, "id": rid,
                "meta": {"versionId": str(self.rng.randrange(1, 9)), "lastUpdated": self.when(days_ago),
                         "source": "#ehr-bench"},
                "identifier": [{"use": "official", "system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.798268",
                                "value": f"{rid}-{self.rng.randrange(10**9)}"}]}

    @staticmethod
    def narrate(resource: dict, summary: str) -> dict:
        """Add the generated XHTML narrative many EHRs send with every resource."""
        resource["text"] = {"status": "generated",
                            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p><b>{resource["resourceType"]}'
                                   f'</b> {resource["id"]}</p><p>{summary}</p><p>Patient: Bench, Patient'
                                   f' (MRN-BENCH-0001)</p></div>'}
        return resource

    def subject(self) -> dict:
        return {"reference": f"Patient/{self.patient_id}", "display": "Bench, Patient"}

    def patient(self, birth_date: str, gender: str) -> dict:
        return {"resourceType": "Patient", "id": self.patient_id, "active": True, "gender": gender,
                "birthDate": birth_date,
                "identifier": [{"use": "usual", "system": "urn:oid:1.2.3.4.5", "value": "MRN-BENCH-0001"}],
                "name": [{"use": "official", "family": "Bench", "given": ["Patient"]}],
                "address": [{"use": "home", "city": "Springfield", "postalCode": "00000", "country": "US"}]}

    def observation(self, code: str, display: str, days_ago: float, *, value: float | None = None,
                    unit: str | None = None, low: float | None = None, high: float | None = None,
                    category: str = "laboratory", value_concept: dict | None = None,
                    value_string: str | None = None, status: str = "final") -> dict:
        resource = self._common("Observation", "obs", days_ago)
        resource |= {"status": status,
                     "category": [concept(OBS_CATEGORY, category, category.replace("-", " ").title())],
                     "code": concept(LOINC, code, display), "subject": self.subject(),
                     "encounter": {"reference": f"Encounter/enc-{self.rng.randrange(1, 60):03d}"},
                     "effectiveDateTime": self.when(days_ago), "issued": self.when(days_ago - 0.1),
                     "performer": [{"reference": "Organization/lab-1", "display": "Bench Hospital Laboratory"}]}
        if value is not None:
            resource["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
        if value_concept is not None:
            resource["valueCodeableConcept"] = value_concept
        if value_string is not None:
            resource["valueString"] = value_string
        if low is not None and high is not None:
            flag = "H" if value is not None and value > high else "L" if value is not None and value < low else "N"
            resource["interpretation"] = [concept(INTERPRETATION, flag)]
            resource["referenceRange"] = [{"low": {"value": low, "unit": unit, "system": UCUM, "code": unit},
                                           "high": {"value": high, "unit": unit, "system": UCUM, "code": unit},
                                           "text": f"{low}-{high} {unit}"}]
        return resource

    def condition(self, system: str, code: str, display: str, days_ago: float, *, clinical: str = "active") -> dict:
        resource = self._common("Condition", "cond", days_ago)
        return resource | {
            "clinicalStatus": concept(CLINICAL, clinical), "verificationStatus": concept(VERIFICATION, "confirmed"),
            "category": [concept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")],
            "code": concept(system, code, display), "subject": self.subject(),
            "onsetDateTime": self.when(days_ago + 2), "recordedDate": self.when(days_ago)}

    def medication_request(self, code: str, display: str, days_ago: float, *, status: str = "active",
                           intent: str = "order", dose: float | None = None, dose_unit: str = "mg",
                           route: str = "IV") -> dict:
        resource = self._common("MedicationRequest", "mr", days_ago)
        resource |= {"status": status, "intent": intent, "medicationCodeableConcept": concept(RXNORM, code, display),
                     "subject": self.subject(), "authoredOn": self.when(days_ago),
                     "requester": {"reference": "Practitioner/bench-prac-1", "display": "Doctor, Bench"}}
        instruction: dict = {"text": f"{display}, {route}", "route": {"text": route}}
        if dose is not None:
            instruction["doseAndRate"] = [{"doseQuantity": {"value": dose, "unit": dose_unit, "system": UCUM,
                                                            "code": dose_unit}}]
        resource["dosageInstruction"] = [instruction]
        return resource

    def administration(self, code: str, display: str, days_ago: float, dose: float) -> dict:
        resource = self._common("MedicationAdministration", "ma", days_ago)
        return resource | {"status": "completed", "medicationCodeableConcept": concept(RXNORM, code, display),
                           "subject": self.subject(), "effectiveDateTime": self.when(days_ago),
                           "dosage": {"route": {"text": "IV"},
                                      "dose": {"value": dose, "unit": "mg", "system": UCUM, "code": "mg"}}}

    def procedure(self, code: str, display: str, days_ago: float) -> dict:
        resource = self._common("Procedure", "proc", days_ago)
        return resource | {"status": "completed", "code": concept(SNOMED, code, display), "subject": self.subject(),
                           "performedDateTime": self.when(days_ago)}
