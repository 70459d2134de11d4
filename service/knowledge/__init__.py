"""The clinical knowledge base: load, validate and expose the YAML files beside this module.

Loaded once at start-up; any problem (unknown source, unknown code system, missing field, a site override
naming something that does not exist) raises ``KnowledgeError`` with a message naming the file and the entry,
and the service does not start. Sites override value sets, thresholds and windows through one YAML file
(``SITE_KNOWLEDGE``), without editing code; overridden entries are marked so cards and reports say so.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate

HERE = Path(__file__).parent
FILES = ("core.yaml", "eligibility.yaml", "dosing.yaml", "safety.yaml")
CONFIDENCE = ("PI-Pfizer", "FDA", "Secondary", "NOT-CONFIRMED", "Policy", "Site")
SITE_SOURCE = "site-config"


# libyaml's safe loader when PyYAML was built with it (the wheels are): same result, ~8x faster start-up.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KnowledgeError(Exception):
    """The knowledge base (or a site override) is broken; the message says where."""


# --------------------------------------------------------------------------- typed view

@dataclass(frozen=True)
class SourceRef:
    id: str
    label: str
    confidence: str
    url: str | None = None


@dataclass(frozen=True)
class ValueSet:
    id: str
    description: str
    source: str
    confidence: str
    codes: frozenset[tuple[str, str]]                 # (system URI, code)
    displays: dict = field(default_factory=dict, compare=False, hash=False)
    names: tuple[str, ...] = ()                        # lower-case words a free-text match may use
    note: str | None = None
    site_modified: bool = False

    def has(self, system: str | None, code: str | None) -> bool:
        return (system or "", code or "") in self.codes

    def matches(self, concept: Any) -> bool:
        """True when a CodeableConcept (model or dict) carries a coding from this set."""
        return any(self.has(system, code) for system, code in codings(concept))

    def matches_name(self, text: str | None) -> bool:
        lowered = (text or "").lower()
        return bool(lowered) and any(name in lowered for name in self.names)

    def tokens(self) -> list[str]:
        """``system|code`` tokens for a FHIR search, sorted for stable templates."""
        return sorted(f"{system}|{code}" for system, code in self.codes)


@dataclass(frozen=True)
class Policy:
    id: str
    value: Any
    source: str
    confidence: str
    unit: str | None = None
    note: str | None = None
    site_modified: bool = False


@dataclass(frozen=True)
class Regimen:
    id: str
    description: str
    cycle_length_days: int
    doses: tuple[tuple[int, float], ...]              # (day, mg/m2)
    source: str
    confidence: str
    note: str | None = None


@dataclass(frozen=True)
class Text:
    id: str
    text: str
    source: str


@dataclass(frozen=True)
class Knowledge:
    version: str
    product: dict
    systems: dict[str, str]
    sources: dict[str, SourceRef]
    value_sets: dict[str, ValueSet]
    policies: dict[str, Policy]
    regimens: dict[str, Regimen]
    texts: dict[str, Text]
    site: str | None = None

    def vs(self, value_set_id: str) -> ValueSet:
        return self.value_sets[value_set_id]

    def policy(self, policy_id: str) -> Policy:
        return self.policies[policy_id]

    def value(self, policy_id: str) -> Any:
        return self.policies[policy_id].value

    def text(self, text_id: str) -> str:
        return self.texts[text_id].text

    def source(self, source_id: str) -> SourceRef:
        return self.sources[source_id]

    def tokens(self, *value_set_ids: str) -> list[str]:
        return sorted({t for vs_id in value_set_ids for t in self.value_sets[vs_id].tokens()})


def codings(concept: Any) -> Iterable[tuple[str | None, str | None]]:
    """(system, code) pairs of a CodeableConcept given as a fhir.resources model or a plain dict."""
    if concept is None:
        return ()
    items = concept.get("coding") if isinstance(concept, dict) else getattr(concept, "coding", None)
    if not isinstance(items, (list, tuple)):
        return ()  # raw JSON of the wrong shape: validation reports it
    pairs = []
    for coding in items:
        if isinstance(coding, dict):
            system, code = coding.get("system"), coding.get("code")
        else:
            system, code = getattr(coding, "system", None), getattr(coding, "code", None)
        pairs.append((system if isinstance(system, str) else None, code if isinstance(code, str) else None))
    return pairs


# --------------------------------------------------------------------------- file schemas

class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _CodeSchema(_Strict):
    system = fields.String(required=True)
    code = fields.String(required=True)
    display = fields.String()
    source = fields.String()


class _ValueSetSchema(_Strict):
    description = fields.String(required=True)
    source = fields.String(required=True)
    confidence = fields.String(required=True, validate=validate.OneOf(CONFIDENCE))
    note = fields.String()
    codes = fields.List(fields.Nested(_CodeSchema), required=True)
    names = fields.List(fields.String())


class _PolicySchema(_Strict):
    value = fields.Raw(required=True)
    unit = fields.String()
    source = fields.String(required=True)
    confidence = fields.String(required=True, validate=validate.OneOf(CONFIDENCE))
    note = fields.String()


class _DoseSchema(_Strict):
    day = fields.Integer(required=True, validate=validate.Range(min=1))
    mgPerM2 = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))


class _RegimenSchema(_Strict):
    description = fields.String(required=True)
    cycleLengthDays = fields.Integer(required=True, validate=validate.Range(min=1))
    doses = fields.List(fields.Nested(_DoseSchema), required=True, validate=validate.Length(min=1))
    source = fields.String(required=True)
    confidence = fields.String(required=True, validate=validate.OneOf(CONFIDENCE))
    note = fields.String()


class _TextSchema(_Strict):
    text = fields.String(required=True, validate=validate.Length(min=1))
    source = fields.String(required=True)
    fill = fields.Dict(keys=fields.String(), values=fields.String())  # {placeholder} -> policy id


def _http_url(value: str) -> None:
    """An absolute http(s) URL with a host. (marshmallow's ``fields.Url`` compiles a large regular expression,
    ~30 ms of every worker's start-up, to check a handful of citation links.)"""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:  # e.g. "https://[::1" (an unclosed IPv6 bracket)
        raise ValidationError("Not a valid URL.") from exc
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in value):
        raise ValidationError("Not a valid URL.")


class _SourceSchema(_Strict):
    label = fields.String(required=True)
    url = fields.String(validate=_http_url)
    confidence = fields.String(required=True, validate=validate.OneOf(CONFIDENCE))


class _FileSchema(_Strict):
    version = fields.String()
    product = fields.Dict()
    systems = fields.Dict(keys=fields.String(), values=fields.String())
    sources = fields.Dict(keys=fields.String(), values=fields.Nested(_SourceSchema))
    valueSets = fields.Dict(keys=fields.String(), values=fields.Nested(_ValueSetSchema))
    policy = fields.Dict(keys=fields.String(), values=fields.Nested(_PolicySchema))
    regimens = fields.Dict(keys=fields.String(), values=fields.Nested(_RegimenSchema))
    text = fields.Dict(keys=fields.String(), values=fields.Nested(_TextSchema))


class _SiteValueSetSchema(Schema):
    class Meta:
        unknown = RAISE

    add = fields.List(fields.Nested(_CodeSchema))
    remove = fields.List(fields.Nested(_CodeSchema))
    names = fields.List(fields.String())
    note = fields.String()


class _SitePolicySchema(Schema):
    class Meta:
        unknown = RAISE

    value = fields.Raw(required=True)
    note = fields.String()


class _SiteSchema(Schema):
    class Meta:
        unknown = RAISE

    site = fields.String(required=True)
    version = fields.String(required=True)
    valueSets = fields.Dict(keys=fields.String(), values=fields.Nested(_SiteValueSetSchema))
    policy = fields.Dict(keys=fields.String(), values=fields.Nested(_SitePolicySchema))


# --------------------------------------------------------------------------- loading

def _read(path: Path, schema: Schema) -> dict:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path}: cannot read: {exc}") from exc
    try:
        return schema.load(raw)
    except ValidationError as exc:
        raise KnowledgeError(f"{path}: invalid: {exc.normalized_messages()}") from exc


def _merge(documents: list[tuple[Path, dict]]) -> dict:
    merged: dict[str, Any] = {"version": None, "product": {}, "systems": {}, "sources": {}, "valueSets": {},
                              "policy": {}, "regimens": {}, "text": {}}
    for path, doc in documents:
        if doc.get("version"):
            merged["version"] = doc["version"]
        merged["product"].update(doc.get("product", {}))
        for section in ("systems", "sources", "valueSets", "policy", "regimens", "text"):
            for key, value in doc.get(section, {}).items():
                if key in merged[section]:
                    raise KnowledgeError(f"{path}: {section}.{key} is defined twice")
                merged[section][key] = value
    if not merged["version"]:
        raise KnowledgeError("no knowledge version is set (core.yaml: version)")
    return merged


def _apply_site(merged: dict, site: dict, path: Path) -> set[tuple[str, str]]:
    modified = set()
    for vs_id, change in site.get("valueSets", {}).items():
        if vs_id not in merged["valueSets"]:
            raise KnowledgeError(f"{path}: valueSets.{vs_id} does not exist in the knowledge base")
        target = merged["valueSets"][vs_id]
        removed = {(c["system"], c["code"]) for c in change.get("remove", [])}
        target["codes"] = [c for c in target["codes"] if (c["system"], c["code"]) not in removed]
        target["codes"] += [{**c, "source": c.get("source", SITE_SOURCE)} for c in change.get("add", [])]
        target["names"] = list(target.get("names", [])) + list(change.get("names", []))
        if change.get("note"):
            target["note"] = f"{target.get('note', '')} Site: {change['note']}".strip()
        modified.add(("valueSets", vs_id))
    for policy_id, change in site.get("policy", {}).items():
        if policy_id not in merged["policy"]:
            raise KnowledgeError(f"{path}: policy.{policy_id} does not exist in the knowledge base")
        original = merged["policy"][policy_id]
        if not _same_kind(original["value"], change["value"]):
            raise KnowledgeError(f"{path}: policy.{policy_id} must be a {type(original['value']).__name__} like "
                                 f"its default ({original['value']!r}), not {change['value']!r}")
        merged["policy"][policy_id] = {**original, "value": change["value"], "source": SITE_SOURCE,
                                       "confidence": "Site",
                                       "note": change.get("note", f"Site value (default {original['value']!r})")}
        modified.add(("policy", policy_id))
    return modified


def _same_kind(default: Any, value: Any) -> bool:
    """A site value must have its default's type (any number for a number), so a typo stops start-up."""
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _system(merged: dict, alias: str, where: str) -> str:
    if alias in merged["systems"]:
        return merged["systems"][alias]
    if "://" in alias or alias.startswith("urn:"):
        return alias  # a site's own code system, given as a URI
    raise KnowledgeError(f"{where}: unknown code system {alias!r}")


def _check_source(merged: dict, source: str, where: str) -> None:
    if source not in merged["sources"] and source != SITE_SOURCE:
        raise KnowledgeError(f"{where}: unknown source {source!r}")


def _filled(entry: dict, policies: dict[str, Policy], where: str) -> str:
    """A label sentence with its ``{placeholders}`` replaced by the (site-adjusted) policy values it names, so
    the card and the pharmacist's report read the same numbers the rules use."""
    fill = entry.get("fill") or {}
    missing = [policy for policy in fill.values() if policy not in policies]
    if missing:
        raise KnowledgeError(f"{where}: fills from unknown policies {missing}")
    try:
        return entry["text"].format(**{name: f"{policies[policy].value:g}" if isinstance(policies[policy].value, float)
                                        else policies[policy].value for name, policy in fill.items()})
    except (KeyError, IndexError, ValueError) as exc:
        raise KnowledgeError(f"{where}: a placeholder has no fill ({exc})") from exc


def load_knowledge(directory: Path = HERE, site_file: str | Path | None = None) -> Knowledge:
    """:raise KnowledgeError: naming the file and entry at fault."""
    documents = [(directory / name, _read(directory / name, _FileSchema())) for name in FILES]
    merged = copy.deepcopy(_merge(documents))
    site_name = site_version = None
    modified: set[tuple[str, str]] = set()
    if site_file:
        site_path = Path(site_file)
        merged["sources"][SITE_SOURCE] = {"label": "Site configuration", "confidence": "Site"}
        site = _read(site_path, _SiteSchema())
        modified = _apply_site(merged, site, site_path)
        site_name, site_version = site["site"], site["version"]

    value_sets = {}
    for vs_id, vs in merged["valueSets"].items():
        where = f"valueSets.{vs_id}"
        _check_source(merged, vs["source"], where)
        codes, displays = set(), {}
        for code in vs["codes"]:
            _check_source(merged, code.get("source", vs["source"]), where)
            key = (_system(merged, code["system"], where), code["code"])
            codes.add(key)
            displays[key] = code.get("display", code["code"])
        value_sets[vs_id] = ValueSet(vs_id, vs["description"], vs["source"], vs["confidence"], frozenset(codes),
                                     displays, tuple(n.lower() for n in vs.get("names", [])), vs.get("note"),
                                     ("valueSets", vs_id) in modified)
    policies = {}
    for policy_id, p in merged["policy"].items():
        _check_source(merged, p["source"], f"policy.{policy_id}")
        policies[policy_id] = Policy(policy_id, p["value"], p["source"], p["confidence"], p.get("unit"),
                                     p.get("note"), ("policy", policy_id) in modified)
    regimens = {}
    for reg_id, r in merged["regimens"].items():
        _check_source(merged, r["source"], f"regimens.{reg_id}")
        regimens[reg_id] = Regimen(reg_id, r["description"], r["cycleLengthDays"],
                                   tuple((d["day"], d["mgPerM2"]) for d in r["doses"]), r["source"],
                                   r["confidence"], r.get("note"))
    texts = {}
    for text_id, t in merged["text"].items():
        _check_source(merged, t["source"], f"text.{text_id}")
        texts[text_id] = Text(text_id, _filled(t, policies, f"text.{text_id}"), t["source"])
    sources = {sid: SourceRef(sid, s["label"], s["confidence"], s.get("url")) for sid, s in merged["sources"].items()}
    version = merged["version"] + (f"+site.{site_version}" if site_version else "")
    return Knowledge(version, merged["product"], merged["systems"], sources, value_sets, policies, regimens, texts,
                     site_name)
