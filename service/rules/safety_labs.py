"""Reading lab results for the safety checks: the newest usable result in a window, in the check's unit, and its ULN.

A result outside its window is treated as absent and named; a result without a number or with a unit that cannot be
converted is named as unreadable. Nothing here decides a finding: ``rules/safety.py`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..fhirdates import effective_time, fmt_date
from ..knowledge import Knowledge, codings
from ..patient import Lazy, PatientRecord, reference_of
from ..units import convert, quantity_value

RESULT_STATUSES = ("final", "amended", "corrected")
_DECIMALS = 6  # kept before comparing: 10,000/mm3 is 10.000000000000002 x 10*9/L in floating point


def num(value: float) -> str:
    return f"{round(value, 2):g}"


def rounded(value: float) -> float:
    return round(value, _DECIMALS)


@dataclass(frozen=True)
class Reading:
    """The newest usable result of one test, in the check's unit; ``problem`` says why it cannot be used."""

    name: str
    unit: str
    value: float | None = None
    shown: str = ""
    when: datetime | None = None
    reference: str | None = None
    problem: str | None = None
    ranges: tuple = ()
    recorded_unit: str = ""

    @property
    def usable(self) -> bool:
        return self.value is not None

    @property
    def absent(self) -> bool:
        """No result in the window (ordering one would help), as opposed to an unreadable one."""
        return not self.usable and (self.problem or "").startswith(("no result", "none within"))

    def line(self) -> str:
        if not self.usable:
            return f"{self.name}: {self.problem}"
        converted = "" if self.shown.endswith(f" {self.unit}") else f" (= {num(self.value)} {self.unit})"
        return f"{self.name} {self.shown}{converted} on {fmt_date(self.when)} ({self.reference})"


def convert_value(knowledge: Knowledge, value: float, unit: str, target: str) -> float | None:
    """``units.convert``, plus bilirubin umol/L -> mg/dL with the knowledge factor (a molar-to-mass step)."""
    converted = convert(value, unit, target)
    if converted is None and target.lower() == "mg/dl":
        micromolar = convert(value, unit, "umol/L")
        if micromolar is not None:
            converted = micromolar / float(knowledge.value("bilirubin-umol-per-mg-dl"))
    return converted


def _valued(observation, value_set):
    """The Quantity and reference ranges of the Observation, or of its component coded in ``value_set``."""
    if value_set.matches(observation.code):
        return observation.valueQuantity, tuple(observation.referenceRange or ())
    for component in observation.component or ():
        if value_set.matches(component.code):
            return component.valueQuantity, tuple(component.referenceRange or ())
    return None, ()


def results(record: PatientRecord, knowledge: Knowledge, vs_id: str, limit: datetime) -> list:
    """Final/amended/corrected results of a value set taken at or before ``limit``, newest first; undated ones out."""
    found = record.observations_in(knowledge.vs(vs_id), statuses=RESULT_STATUSES)
    return Lazy(o for o in found if (effective_time(o) or limit + timedelta(days=1)) <= limit)


def lab(record: PatientRecord, knowledge: Knowledge, vs_id: str, name: str, unit: str, days: int,
        before: datetime | None = None) -> Reading:
    """The newest result within ``days`` before ``before`` (default now), in ``unit``."""
    limit = before or record.now
    found = results(record, knowledge, vs_id, limit)
    if not found:
        return Reading(name, unit, problem=f"no result on record{' before ' + fmt_date(limit) if before else ''}")
    newest = found[0]
    when, reference = effective_time(newest), reference_of(newest)
    if limit - when > timedelta(days=days):
        return Reading(name, unit, when=when, reference=reference,
                       problem=f"none within {days} days (latest {fmt_date(when)}, {reference}, is too old to use)")
    quantity, ranges = _valued(newest, knowledge.vs(vs_id))
    pair = quantity_value(quantity)
    if pair is None or pair[0] is None:
        return Reading(name, unit, when=when, reference=reference, problem=f"{reference} has no numeric value")
    value, recorded = pair
    converted = convert_value(knowledge, value, recorded, unit)
    if converted is None:
        return Reading(name, unit, when=when, reference=reference,
                       problem=f"{reference}: unit '{recorded or 'none'}' cannot be read as {unit}")
    return Reading(name, unit, converted, f"{num(value)} {recorded}".strip(), when, reference, None, ranges, recorded)


def upper_limit(knowledge: Knowledge, reading: Reading, policy_id: str) -> tuple[float | None, str]:
    """(ULN in the reading's unit, its basis): the result's own ``referenceRange.high`` (normal ranges; the lowest
    when several, to stay conservative), else the site default policy, else (None, "")."""
    highs = []
    for reference_range in reading.ranges:
        kinds = {code for _, code in codings(reference_range.type)}
        pair = quantity_value(reference_range.high)
        if (kinds and "normal" not in kinds) or pair is None or pair[0] is None:
            continue
        high = convert_value(knowledge, pair[0], pair[1] or reading.recorded_unit, reading.unit)
        if high is not None and high > 0:
            highs.append(high)
    if highs:
        return min(highs), "lab reference range" + (f", lowest of {len(highs)}" if len(highs) > 1 else "")
    policy = knowledge.policy(policy_id)
    number = isinstance(policy.value, (int, float)) and not isinstance(policy.value, bool) and policy.value > 0
    converted = convert_value(knowledge, float(policy.value), policy.unit or reading.unit, reading.unit) if number \
        else None  # 0, the default, means "not set"
    if converted:
        return converted, f"site default ULN, policy {policy_id}"
    return None, ""
