"""Body surface area from the record: the latest usable height and weight, and the configured formula.

Pure functions of (PatientRecord, Knowledge). A height or weight that is missing, stale (outside its look-back
window), future-dated or unreadable is not used, and the reason is returned so the card can say what to record.
The formula's constants are knowledge data (``bsa-<name>`` policies, each citing its original publication).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from ..fhirdates import age_in_years_bounds, effective_time, fmt_date
from ..knowledge import Knowledge
from ..patient import Lazy, PatientRecord, reference_of
from ..units import convert, quantity_value

FINAL = ("final", "amended", "corrected")


def round_step(value: float, step: float) -> float:
    """``value`` rounded half-up to a multiple of ``step`` (0 or None: unrounded)."""
    if not step:
        return value
    unit = Decimal(str(step))
    return float((Decimal(repr(value)) / unit).quantize(Decimal(1), ROUND_HALF_UP) * unit)


def vials_for(mg: float, vial_mg: float) -> int:
    """Single-dose vials needed for one dose (a started vial counts; the rest is discarded)."""
    return int((Decimal(repr(mg)) / Decimal(str(vial_mg))).to_integral_value(ROUND_CEILING))


@dataclass(frozen=True)
class Measurement:
    value: float                   # as recorded
    unit: str                      # as recorded
    converted: float               # in cm (height) or kg (weight)
    when: datetime
    reference: str

    def describe(self, target: str) -> str:
        recorded = "" if self.unit == target else f" (recorded {self.value:g} {self.unit})"
        return f"{self.converted:.1f} {target}{recorded}, {fmt_date(self.when)}, `{self.reference}`"


@dataclass(frozen=True)
class Bsa:
    value_m2: float                # after the site's BSA rounding policy; the value doses are computed from
    exact_m2: float
    formula: str
    source: str                    # knowledge source id of the formula's publication
    height: Measurement
    weight: Measurement
    constants: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        return {"valueM2": self.value_m2, "formula": self.formula, "heightCm": round(self.height.converted, 2),
                "weightKg": round(self.weight.converted, 3),
                "evidence": [self.height.reference, self.weight.reference]}


def pediatric_status(record: PatientRecord, knowledge: Knowledge) -> bool | None:
    """True under the adult age, False at or above it, None when the birth date cannot tell."""
    birth = getattr(record.patient, "birthDate", None) if record.patient is not None else None
    bounds = age_in_years_bounds(birth, record.now.date()) if birth is not None else None
    if bounds is None:
        return None
    adult = knowledge.value("adult-age-years")
    youngest, oldest = bounds
    return False if youngest >= adult else True if oldest < adult else None


def _reading(observation, value_set, target: str) -> tuple[float, str, float] | None:
    quantity = observation.valueQuantity if value_set.matches(observation.code) else next(
        (c.valueQuantity for c in observation.component or () if value_set.matches(c.code)), None)
    read = quantity_value(quantity)
    if read is None or read[0] is None or read[0] <= 0:
        return None
    for unit in dict.fromkeys([read[1], getattr(quantity, "unit", None) or ""]):
        converted = convert(read[0], unit, target)
        if converted is not None:
            return read[0], unit, converted
    return None


def latest_measurement(record: PatientRecord, knowledge: Knowledge, kind: str, window_days: int
                       ) -> tuple[Measurement | None, Measurement | None, str | None]:
    """(the newest final measurement within its window, the one before it, why there is none)."""
    value_set = knowledge.vs(f"body-{kind}")
    target = "cm" if kind == "height" else "kg"
    dated = Lazy((o, when) for o in record.observations_in(value_set, statuses=FINAL)
                 if (when := effective_time(o)) is not None and when <= record.now)
    if not dated:
        return None, None, f"no final {kind} on record"
    readings = []
    for observation, when in dated[:2]:
        read = _reading(observation, value_set, target)
        readings.append(Measurement(read[0], read[1], read[2], when, reference_of(observation)) if read else None)
    newest, reference = readings[0], reference_of(dated[0][0])
    previous = readings[1] if len(readings) > 1 else None
    if newest is None:
        return None, previous, f"the most recent {kind} ({reference}) has no readable value or unit"
    if record.now - newest.when > timedelta(days=window_days):
        return None, previous, (f"the most recent {kind} ({fmt_date(newest.when)}, {reference}) is older than "
                                f"{window_days} days")
    return newest, previous, None


def bsa_m2(knowledge: Knowledge, formula: str, height_cm: float, weight_kg: float) -> float | None:
    """BSA by a configured power-law formula, c x H(cm)^a x W(kg)^b; None if the formula is not configured."""
    constants = knowledge.policies.get(f"bsa-{formula}")
    try:
        c = constants.value
        return float(c["coefficient"]) * height_cm ** float(c["heightExponent"]) * weight_kg ** float(
            c["weightExponent"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def compute_bsa(knowledge: Knowledge, height: Measurement | None, weight: Measurement | None
                ) -> tuple[Bsa | None, str | None]:
    """(BSA by the site's formula and rounding, or None; why the formula could not be used)."""
    if height is None or weight is None:
        return None, None
    formula = str(knowledge.value("bsa-formula"))
    exact = bsa_m2(knowledge, formula, height.converted, weight.converted)
    if exact is None or not math.isfinite(exact) or exact <= 0:
        return None, f"the BSA formula set by policy ('{formula}') is not configured with usable constants"
    policy = knowledge.policy(f"bsa-{formula}")
    rounded = round_step(exact, knowledge.value("bsa-rounding-m2"))
    return Bsa(rounded, exact, formula, policy.source, height, weight, dict(policy.value)), None
