"""Write the sandbox files from charts.py: shared.json, patients/<slug>.json and orders/<slug>.json.

Run ``python sandbox/generate.py`` after changing a chart; a test fails when the committed files differ from what
this writes, so the JSON files and the stories in charts.py cannot drift apart. Output is deterministic.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from charts import CHARTS  # noqa: E402
from fhirgen import (ADULT_ONCOLOGIST, MRN, ORGANIZATION, PEDS_ONCOLOGIST, RXNORM, SANDBOX, TEST_DATA,  # noqa: E402
                     concept, transaction)


def _practitioner(reference: str, given: str, family: str, qualification: str) -> dict:
    return {"resourceType": "Practitioner", "id": reference.split("/")[1], "meta": {"security": [TEST_DATA]},
            "active": True, "identifier": [{"system": f"{SANDBOX}/fhir/sid/staff", "value": reference.split("/")[1]}],
            "name": [{"family": family, "given": [given], "prefix": ["Dr."], "text": f"Dr. {given} {family}"}],
            "qualification": [{"code": {"text": qualification}}]}


def shared_resources() -> list[dict]:
    """The organisation, clinicians and formulary item every chart refers to (loaded before the patients)."""
    return [
        {"resourceType": "Organization", "id": ORGANIZATION.split("/")[1], "meta": {"security": [TEST_DATA]},
         "active": True, "identifier": [{"system": MRN.replace("mrn", "org"), "value": "ZZ-CANCER-CENTER"}],
         "name": "Zztest Sandbox Cancer Center (synthetic)",
         "telecom": [{"system": "phone", "value": "555-0100", "use": "work"}],
         "address": [{"line": ["1 Sandbox Plaza"], "city": "Testville", "state": "ZZ", "postalCode": "00000"}]},
        _practitioner(PEDS_ONCOLOGIST, "Hana", "Zztest-Ito", "Pediatric hematology-oncology"),
        _practitioner(ADULT_ONCOLOGIST, "Samuel", "Zztest-Adeyemi", "Adult hematology"),
        {"resourceType": "Medication", "id": "inoz-med-besponsa-vial", "meta": {"security": [TEST_DATA]},
         "code": concept(RXNORM, "1942959", "inotuzumab ozogamicin 0.9 MG Injection [Besponsa]",
                         "Besponsa (inotuzumab ozogamicin) 0.9 mg single-dose vial"),
         "status": "active", "form": {"text": "lyophilized powder for injection"}},
    ]


def files() -> dict[str, dict]:
    """Relative path -> JSON content of every generated file."""
    out = {"shared.json": transaction(shared_resources(), "Shared sandbox resources: organisation, clinicians, "
                                                          "formulary")}
    for build in CHARTS:
        chart = build()
        out[f"patients/{chart.slug}.json"] = chart.bundle()
        out[f"orders/{chart.slug}.json"] = chart.draft_orders()
    return out


def render(content: dict) -> str:
    return json.dumps(content, indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    for relative, content in files().items():
        path = HERE / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(content), encoding="utf-8")
        print(f"wrote {relative}")


if __name__ == "__main__":
    main()
