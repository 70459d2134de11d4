"""The three workloads of issue 8, generated deterministically (seeded) so every run posts the same bytes.

- light: order-sign for one inotuzumab order (cycle 1, day 8), prefetch holding only the relevant records;
- heavy: the same patient with a long chart (1,820 Observations, 80 Conditions, 300 MedicationRequests,
  40 Procedures), several MB;
- no-prefetch: the light request with every prefetch key absent and a ``fhirServer`` to fetch from.

Dates are relative to an anchor (the run's "now"), so results stay fresh whenever the benchmark runs. Resources
are placed under the prefetch keys the service declares today (its templates follow the knowledge base): a
resource goes under the key whose query asks for its code, and filler goes under the broadest key of its type.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timezone

from .fhirgen import (FILLER_CONDITIONS, FILLER_DRUGS, FILLER_LABS, FILLER_PROCEDURES, FILLER_VITALS, ICD10,
                      SNOMED, Maker, concept)

SEED = 20261125
PATIENT_ID = "bench-patient-1"
SERVICE_ID = "inotuzumab-order-check"
INOTUZUMAB = ("1942954", "inotuzumab ozogamicin 0.9 MG Injection")   # knowledge: eligibility.yaml inotuzumab
HEIGHT_CM, WEIGHT_KG = 165.0, 68.0
BSA = round((HEIGHT_CM * WEIGHT_KG / 3600) ** 0.5, 2)                # Mosteller, only to make the order plausible

# (knowledge value set, LOINC code, display, unit, value, low, high): the labs the order check reads.
LIGHT_LABS = [
    ("bilirubin-total", "1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 0.1, 1.2),
    ("ast", "1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 28, 10, 40),
    ("alt", "1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 31, 7, 44),
    ("anc", "751-8", "Neutrophils [#/volume] in Blood by Automated count", "10*3/uL", 1.8, 1.5, 8.0),
    ("platelets", "777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 140, 150, 400),
    ("peripheral-blasts", "30376-8", "Blasts [#/volume] in Blood", "10*3/uL", 2.1, 0, 0),
]


def _light_resources(m: Maker) -> list[dict]:
    r = [m.patient("1985-04-12", "female"),
         m.condition(SNOMED, "277571004", "B-cell acute lymphoblastic leukemia (disorder)", 700, clinical="relapse"),
         m.condition(ICD10, "C91.02", "Acute lymphoblastic leukemia, in relapse", 30, clinical="active")]
    r += [m.observation("8302-2", "Body height", d, value=HEIGHT_CM, unit="cm", category="vital-signs")
          for d in (200, 8)]
    r += [m.observation("29463-7", "Body weight", d, value=w, unit="kg", category="vital-signs")
          for d, w in ((35, 69.5), (8, 68.4), (1, WEIGHT_KG))]
    r.append(m.observation("14017-8", "CD22 cells/100 cells in Blood", 25, value=92, unit="%",
                           value_concept=None))
    r.append(m.observation("101119-6", "Leukemia/lymphoma immunophenotyping panel", 25,
                           value_string="Blasts CD19+ CD22+ CD10+; CD22 on 92% of blasts"))
    r.append(m.observation("97509-4", "Cancer disease status", 25, category="survey",
                           value_concept=concept(SNOMED, "271299001", "Patient's condition worsened (finding)")))
    for _, code, display, unit, value, low, high in LIGHT_LABS:
        for days in (9, 1):
            r.append(m.observation(code, display, days, value=value, unit=unit,
                                   low=low if high else None, high=high or None))
    r.append(m.observation("8636-3", "QT interval corrected", 2, value=430, unit="ms", category="procedure"))
    r.append(m.observation("2106-3", "Choriogonadotropin (pregnancy test) [Presence] in Urine", 2,
                           value_concept=concept(SNOMED, "260385009", "Negative")))
    r += [m.medication_request(code, display, 0.2, dose=dose, route=route) for code, display, dose, route in (
        ("3264", "dexamethasone 4 MG/ML Injectable Solution", 12, "IV"),
        ("161", "acetaminophen 500 MG Oral Tablet", 1000, "PO"),
        ("20610", "cetirizine 10 MG Oral Tablet", 10, "PO"))]
    r.append(m.medication_request(*INOTUZUMAB, 8, status="completed", dose=round(0.8 * BSA, 2)))
    r.append(m.administration(*INOTUZUMAB, 7, dose=round(0.8 * BSA, 2)))
    return r


def _draft_order(m: Maker) -> dict:
    order = m.medication_request(*INOTUZUMAB, 0, status="draft", dose=round(0.5 * BSA, 2))
    order.pop("meta"), order.pop("identifier")
    return order


def _filler(m: Maker, observations: int, conditions: int, medications: int, procedures: int) -> list[dict]:
    """A long chart: mostly unrelated labs and vitals, plus ~10% older results of the relevant labs."""
    rng, out = m.rng, []
    relevant = [(c, d, u, v, lo, hi) for _, c, d, u, v, lo, hi in LIGHT_LABS]
    for i in range(observations):
        days = 10 + rng.random() * 720
        if i % 10 == 0:
            code, display, unit, value, low, high = relevant[(i // 10) % len(relevant)]
            out.append(m.observation(code, display, days, value=round(value * rng.uniform(0.7, 1.3), 2),
                                     unit=unit, low=low if high else None, high=high or None))
            continue
        vital = i % 4 == 1
        code, display, unit, low, high = rng.choice(FILLER_VITALS if vital else FILLER_LABS)
        value = round(rng.uniform(low * 0.8, high * 1.2 if high else 1), 2)
        out.append(m.narrate(m.observation(code, display, days, value=value, unit=unit, low=low, high=high,
                                           category="vital-signs" if vital else "laboratory"),
                             f"{display}: {value} {unit} (reference {low}-{high} {unit})"))
    for i in range(conditions):
        code, display = FILLER_CONDITIONS[i % len(FILLER_CONDITIONS)]
        out.append(m.condition(ICD10, code, display, 30 + rng.random() * 1500,
                               clinical=rng.choice(("active", "resolved", "inactive"))))
    for i in range(medications):
        code, display = rng.choice(FILLER_DRUGS)
        order = m.medication_request(code, display, 5 + rng.random() * 700, dose=rng.choice((1, 2, 5, 10, 20)),
                                     status=rng.choice(("completed", "stopped", "active")), route="PO")
        out.append(m.narrate(order, f"{display}, {order['status']}"))
    for _ in range(procedures):
        code, display = rng.choice(FILLER_PROCEDURES)
        out.append(m.procedure(code, display, 10 + rng.random() * 700))
    return out


# --------------------------------------------------------------------------- prefetch keys

_QUERY = re.compile(r"^(?P<type>[A-Za-z]+)(?:/|\?)(?P<rest>.*)$")


def parse_template(template: str) -> tuple[str, frozenset[tuple[str, str]], str | None]:
    """(resource type, requested (system, code) pairs, status filter) of a prefetch template or query."""
    match = _QUERY.match(template)
    kind, rest = (match.group("type"), match.group("rest")) if match else (template, "")
    params = dict(p.split("=", 1) for p in rest.split("&") if "=" in p)
    codes = frozenset(tuple(token.rsplit("|", 1)) for token in params.get("code", "").split(",") if "|" in token)
    return kind, codes, params.get("status")


def resource_codes(resource: dict) -> set[tuple[str, str]]:
    concept_ = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    return {(c.get("system", ""), c.get("code", "")) for c in concept_.get("coding") or ()}


def assign_to_keys(resources: list[dict], templates: dict[str, str]) -> dict[str, list[dict]]:
    """Place each resource under the key whose query asks for its code; filler under a broad key of its type.

    A type no key asks for goes under an extra key named after it (the service ignores undeclared keys).
    """
    parsed = {key: parse_template(t) for key, t in templates.items()}
    keys: dict[str, list[dict]] = {key: [] for key in templates}
    for resource in resources:
        kind, codes = resource["resourceType"], resource_codes(resource)
        same_type = [k for k, (t, _, _) in parsed.items() if t == kind]
        exact = [k for k in same_type if parsed[k][1] & codes]
        if exact:
            target = exact[0]
        elif same_type:  # filler: a key whose status filter it passes, then the broadest, then the last
            order = {k: i for i, k in enumerate(same_type)}
            target = max(same_type, key=lambda k: (parsed[k][2] in (None, resource.get("status")),
                                                   len(parsed[k][1]), order[k]))
        else:
            target = kind[0].lower() + kind[1:] + "s"
        keys.setdefault(target, []).append(resource)
    return keys


def as_prefetch(keys: dict[str, list[dict]], templates: dict[str, str]) -> dict[str, dict | None]:
    """A read key holds its resource (or null); a search key holds a searchset Bundle, empty when nothing matched."""
    prefetch: dict[str, dict | None] = {}
    for key, resources in keys.items():
        template = templates.get(key, "?")
        if "?" not in template:
            prefetch[key] = resources[0] if resources else None
        else:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
                             "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r,
                                        "search": {"mode": "match"}} for r in resources]}
    return prefetch


def order_templates() -> dict[str, str]:
    """The prefetch templates the order service declares now (they follow the knowledge base)."""
    from service.knowledge import load_knowledge
    from service.services import prefetch_templates
    return prefetch_templates(load_knowledge(), orders=True)


# --------------------------------------------------------------------------- requests

def _hook_request(m: Maker, draft: dict, prefetch: dict | None, fhir_server: str | None) -> dict:
    body = {"hook": "order-sign", "hookInstance": m.uid(),
            "context": {"userId": "Practitioner/bench-prac-1", "patientId": PATIENT_ID,
                        "encounterId": "enc-001",
                        "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                        "entry": [{"resource": draft}]}}}
    if fhir_server:
        body["fhirServer"] = fhir_server
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def _maker(anchor: datetime | None, seed: int) -> Maker:
    return Maker(random.Random(seed), PATIENT_ID, anchor or datetime.now(timezone.utc))


def light_resources(anchor: datetime | None = None, seed: int = SEED) -> list[dict]:
    return _light_resources(_maker(anchor, seed))


def light(anchor: datetime | None = None, templates: dict[str, str] | None = None, seed: int = SEED) -> dict:
    templates = templates if templates is not None else order_templates()
    m = _maker(anchor, seed)
    resources = _light_resources(m)
    return _hook_request(m, _draft_order(m), as_prefetch(assign_to_keys(resources, templates), templates), None)


def heavy(anchor: datetime | None = None, templates: dict[str, str] | None = None, seed: int = SEED, *,
          observations: int = 1800, conditions: int = 78, medications: int = 296, procedures: int = 40) -> dict:
    """The light patient plus a long chart; the defaults bring the totals to 1,820 Observations, 80 Conditions,
    300 MedicationRequests (besides the draft) and 40 Procedures, about 3.4 MB of JSON."""
    templates = templates if templates is not None else order_templates()
    m = _maker(anchor, seed)
    resources = _light_resources(m)
    draft = _draft_order(m)
    resources += _filler(m, observations, conditions, medications, procedures)
    return _hook_request(m, draft, as_prefetch(assign_to_keys(resources, templates), templates), None)


def no_prefetch(fhir_server: str, anchor: datetime | None = None, seed: int = SEED) -> dict:
    m = _maker(anchor, seed)
    _light_resources(m)  # consume the same random draws so the draft order matches the light workload's
    return _hook_request(m, _draft_order(m), None, fhir_server)


def encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def count_resources(body: dict) -> dict[str, int]:
    """Resources by type over prefetch and draftOrders (each Bundle's entries counted)."""
    counts: dict[str, int] = {}
    values = list((body.get("prefetch") or {}).values()) + [body["context"].get("draftOrders")]
    for value in values:
        if not isinstance(value, dict):
            continue
        items = [e["resource"] for e in value.get("entry") or ()] if value.get("resourceType") == "Bundle" else [value]
        for r in items:
            counts[r["resourceType"]] = counts.get(r["resourceType"], 0) + 1
    return counts


