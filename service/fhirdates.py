"""FHIR date handling: partial dates (``2025``, ``2025-03``), dates, date-times, and the time a record speaks of.

fhir.resources keeps partial dates as strings and full ones as ``date``/``datetime``; everything here accepts
all three and returns timezone-aware UTC datetimes, or None when the value cannot be read.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timezone
from typing import Any

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def date_bounds(value: Any) -> tuple[date, date] | None:
    """Earliest and latest calendar day a (possibly partial) FHIR date can mean."""
    if isinstance(value, datetime):
        return value.date(), value.date()
    if isinstance(value, date):
        return value, value
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _PARTIAL.match(text)
    if not match:
        parsed = to_datetime(text)
        return (parsed.date(), parsed.date()) if parsed else None
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)
        if day is None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        return date(year, month, day), date(year, month, day)
    except ValueError:
        return None


def to_datetime(value: Any) -> datetime | None:
    """A full date or date-time as aware UTC; a date means its midnight UTC; partial dates give None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _FULL_DATE.match(text):
        try:
            return datetime.combine(date.fromisoformat(text), time.min, tzinfo=timezone.utc)
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def effective_time(resource: Any) -> datetime | None:
    """When an Observation/Condition/Procedure/MedicationRequest/MedicationAdministration speaks of.

    Accepts a fhir.resources model or the raw JSON dict, and gives the same answer for both.
    """
    for name in ("effectiveDateTime", "effectiveInstant", "performedDateTime", "onsetDateTime",
                 "recordedDate", "authoredOn"):
        found = to_datetime(_field(resource, name))
        if found:
            return found
    for name in ("effectivePeriod", "performedPeriod", "onsetPeriod"):
        period = _field(resource, name)
        if period is not None:
            found = to_datetime(_field(period, "start")) or to_datetime(_field(period, "end"))
            if found:
                return found
    return to_datetime(_field(resource, "issued"))


def age_in_years_bounds(birth: Any, on: date) -> tuple[int, int] | None:
    """Smallest and largest whole age in years on ``on`` for a (possibly partial) birth date."""
    bounds = date_bounds(birth)
    if bounds is None:
        return None
    earliest, latest = bounds
    return whole_years(latest, on), whole_years(earliest, on)


def whole_years(born: date, on: date) -> int:
    """Completed years; someone born on 29 February turns a year older on 1 March in common years."""
    years = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        years -= 1
    return years


def fmt_date(moment: datetime | date | None) -> str:
    if moment is None:
        return "undated"
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()
