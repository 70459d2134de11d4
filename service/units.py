"""Quantities from FHIR: UCUM codes (and the spellings labs really send) converted with pint.

Only the mapping from a UCUM code or spelling to pint's name is written here; pint does the arithmetic.
An unknown or incompatible unit gives None: the caller reports "unreadable unit", it never guesses.
"""

from __future__ import annotations

import math
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pint

def _registry() -> pint.UnitRegistry:
    """pint's default units. Its parsed definitions are cached on disk (pint's own cache, in the user cache
    folder), which cuts a worker's start-up by ~0.1 s; an unwritable cache folder just means no cache."""
    try:
        return pint.UnitRegistry(cache_folder=":auto:")
    except OSError:
        return pint.UnitRegistry()


_UREG = _registry()
_UREG.define("international_unit = [enzyme_activity] = IU")

# UCUM code or common spelling (lower-cased) -> pint expression
_ALIASES = {
    "cm": "centimeter", "m": "meter", "mm": "millimeter", "[in_i]": "inch", "in": "inch", "inch": "inch",
    "inches": "inch", "[ft_i]": "foot", "ft": "foot",
    "kg": "kilogram", "g": "gram", "[lb_av]": "pound", "lb": "pound", "lbs": "pound", "[oz_av]": "ounce",
    "mg": "milligram", "ug": "microgram", "mcg": "microgram",
    "mg/m2": "milligram / meter ** 2", "mg/m^2": "milligram / meter ** 2", "mg/m²": "milligram / meter ** 2",
    "m2": "meter ** 2", "m^2": "meter ** 2", "m²": "meter ** 2",
    "10*3/ul": "1e3 / microliter", "10^3/ul": "1e3 / microliter", "x10e3/ul": "1e3 / microliter",
    "k/ul": "1e3 / microliter", "10*9/l": "1e9 / liter", "10^9/l": "1e9 / liter", "x10e9/l": "1e9 / liter",
    "g/l": "gram / liter",
    "/ul": "1 / microliter", "/mm3": "1 / millimeter ** 3", "/mm^3": "1 / millimeter ** 3", "cells/ul": "1 / microliter",
    "mg/dl": "milligram / deciliter", "umol/l": "micromole / liter", "µmol/l": "micromole / liter",
    "u/l": "IU / liter", "iu/l": "IU / liter", "[iu]/l": "IU / liter",
    "ms": "millisecond", "msec": "millisecond", "s": "second",
    "%": "percent", "percent": "percent",
}


@lru_cache(maxsize=256)
def _unit(spelling: str) -> pint.Unit | pint.Quantity | None:
    key = spelling.strip().lower()
    expression = _ALIASES.get(key)
    if expression is None:
        return None
    return _UREG.parse_expression(expression)


def quantity_value(quantity: Any) -> tuple[float | None, str] | None:
    """(value, unit spelling) of a FHIR Quantity model or dict; UCUM ``code`` preferred over ``unit``.

    The value is None when it is not a finite number (a string, NaN, infinity): the caller reports it.
    """
    if quantity is None:
        return None
    get = quantity.get if isinstance(quantity, dict) else (lambda name: getattr(quantity, name, None))
    value = get("value")
    if value is None or isinstance(value, bool):
        return None
    unit = next((u for u in (get("code"), get("unit")) if isinstance(u, str) and u), "")
    return _finite(value), unit


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def convert(value: float, unit: str, target: str) -> float | None:
    """``value`` in ``unit`` expressed in ``target`` (both UCUM codes or known spellings), or None."""
    number = _finite(value)
    if number is None or not isinstance(unit, str) or not isinstance(target, str):
        return None  # a value that is not a finite number, or a unit that is not text, is unreadable
    factor = _factor(unit.strip().lower(), target.strip().lower())
    if factor is None:
        return None
    try:
        converted = number * factor
    except OverflowError:
        return None
    return converted if math.isfinite(converted) else None


@lru_cache(maxsize=512)
def _factor(unit: str, target: str) -> float | None:
    """How many ``target`` one ``unit`` is, computed by pint once per pair (every unit here is multiplicative:
    no offset units such as degrees Celsius are mapped)."""
    source_unit, target_unit = _unit(unit), _unit(target)
    if source_unit is None or target_unit is None or source_unit.dimensionality != target_unit.dimensionality:
        return None  # checked first: pint's DimensionalityError would keep a traceback cycle alive until GC
    try:
        return float((1.0 * source_unit).to(target_unit).magnitude / _magnitude(target_unit))
    except (pint.DimensionalityError, pint.UndefinedUnitError, OverflowError):
        return None


def _magnitude(unit: Any) -> float:
    return float(getattr(unit, "magnitude", 1.0))


def known(unit: str | None) -> bool:
    return isinstance(unit, str) and _unit(unit) is not None
