"""marshmallow schemas: wire JSON <-> the models in ``models.py``.

Requests are read leniently where real EHRs are sloppy (unknown fields and ``extension`` ignored, Bundles
without ``type``, ids of any length, ``fhirAuthorization`` without ``expires_in``) and strictly where the spec
is explicit (``hook``, ``hookInstance`` and ``context`` required; hook-specific context fields typed).
Responses are checked strictly by ``validate_response``: the tests run every answer through it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from marshmallow import (EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, pre_load, validate,
                         validates_schema)

from .models import FhirAuthorization, HookRequest

# RFC 3339 section 5.6 in UTC; "T" and "Z" may be lower case (RFC 3339 5.6 note). Fractions are bounded so that
# the stored value fits its column.
_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|\+00:00|-00:00)$")
_MAX_ID = 200  # hookInstance and card uuids are stored (audit, feedback) in columns of this size
_REFERENCE = re.compile(r"^[A-Za-z]+/\S+$")


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


# --------------------------------------------------------------------------- hook request

class FhirAuthorizationSchema(_Lenient):
    access_token = fields.String(required=True, validate=validate.Length(min=1))
    token_type = fields.String(load_default="Bearer")
    expires_in = fields.Integer(load_default=None, allow_none=True)
    scope = fields.String(load_default=None, allow_none=True)
    subject = fields.String(load_default=None, allow_none=True)
    patient = fields.String(load_default=None, allow_none=True)

    @pre_load
    def _misprinted_patient(self, data, **_):
        # The 2.0.1 table misprints the field as "'patient"; accept either spelling.
        if isinstance(data, dict) and "'patient" in data and "patient" not in data:
            data = {**data, "patient": data["'patient"]}
        return data

    @validates_schema
    def _bearer(self, data, **_):
        if data.get("token_type", "Bearer").lower() != "bearer":
            raise ValidationError("token_type must be Bearer", "token_type")

    @post_load
    def _make(self, data, **_):
        return FhirAuthorization(**data)


class _BundleLike(fields.Dict):
    """A FHIR Bundle as CDS clients send it: ``resourceType`` Bundle, ``type`` optional, ``entry`` a list."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value.get("resourceType") != "Bundle":
            raise ValidationError("must be a FHIR Bundle")
        entries = value.get("entry", [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ValidationError("Bundle.entry must be a list of objects")
        return value


class _Reference(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not _REFERENCE.match(value):
            raise ValidationError("must be a relative reference such as MedicationRequest/123")
        return value


class PatientViewContext(_Lenient):
    userId = _Reference(required=True)
    patientId = fields.String(required=True, validate=validate.Length(min=1))
    encounterId = fields.String()


class OrderSignContext(PatientViewContext):
    draftOrders = _BundleLike(required=True)


class OrderSelectContext(OrderSignContext):
    selections = fields.List(_Reference(), required=True, validate=validate.Length(min=1))


CONTEXT_SCHEMAS: dict[str, type[Schema]] = {
    "patient-view": PatientViewContext,
    "order-select": OrderSelectContext,
    "order-sign": OrderSignContext,
}


class HookRequestSchema(_Lenient):
    hook = fields.String(required=True, validate=validate.Length(min=1))
    hookInstance = fields.String(required=True, validate=validate.Length(min=1, max=_MAX_ID))
    fhirServer = fields.String(load_default=None, validate=validate.Regexp(r"^https?://\S+$",
                                                                           error="must be an http(s) URL"))
    fhirAuthorization = fields.Nested(FhirAuthorizationSchema, load_default=None)
    context = fields.Dict(required=True)
    # Values are not judged here: a key the service did not ask for is ignored, and a declared key whose value is
    # not a FHIR resource is treated by the fulfiller as unusable and fetched again (prefetch.py).
    prefetch = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), load_default=dict,
                           allow_none=True)

    @validates_schema
    def _rules(self, data, **_):
        if data.get("fhirAuthorization") is not None and not data.get("fhirServer"):
            raise ValidationError("fhirServer is required when fhirAuthorization is given", "fhirServer")
        schema = _CONTEXT_LOADERS.get(data.get("hook", ""))
        if schema is not None:
            errors = schema.validate(data.get("context", {}))
            if errors:
                raise ValidationError({"context": errors})

    @post_load
    def _make(self, data, **_):
        return HookRequest(hook=data["hook"], hook_instance=data["hookInstance"], context=data["context"],
                           fhir_server=data["fhirServer"], fhir_authorization=data["fhirAuthorization"],
                           prefetch=data["prefetch"] or {})  # "prefetch": null is read as "nothing sent"


# One shared instance of each schema: loading does not change a schema, and building one per request cost
# CPU and left reference cycles (fields <-> schema) for the garbage collector on every call.
_CONTEXT_LOADERS: dict[str, Schema] = {hook: schema() for hook, schema in CONTEXT_SCHEMAS.items()}
_HOOK_REQUEST = HookRequestSchema()


def load_hook_request(body: Any) -> HookRequest:
    """Validate a decoded JSON body. :raise ValidationError: with field-keyed messages."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return _HOOK_REQUEST.load(body)


# --------------------------------------------------------------------------- feedback

class _Rfc3339Utc(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not _RFC3339_UTC.match(value):
            raise ValidationError("must be an RFC 3339 timestamp in UTC, e.g. 1985-04-12T23:20:50.52Z")
        try:
            datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationError("not a valid date-time") from exc
        return value


class CodingSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    system = fields.String(required=True)
    code = fields.String(required=True)
    display = fields.String()


class AcceptedSuggestionSchema(_Lenient):
    id = fields.String(required=True, validate=validate.Length(min=1))


class OverrideReasonSchema(_Lenient):
    reason = fields.Nested(CodingSchema)
    userComment = fields.String()

    @validates_schema
    def _something(self, data, **_):
        if not data.get("reason") and not data.get("userComment"):
            raise ValidationError("overrideReason needs a reason or a userComment")


class FeedbackItemSchema(_Lenient):
    card = fields.String(required=True, validate=validate.Length(min=1, max=_MAX_ID))
    outcome = fields.String(required=True, validate=validate.OneOf(["accepted", "overridden"]))
    acceptedSuggestions = fields.List(fields.Nested(AcceptedSuggestionSchema))
    overrideReason = fields.Nested(OverrideReasonSchema)
    outcomeTimestamp = _Rfc3339Utc(required=True)

    @validates_schema
    def _accepted(self, data, **_):
        if data.get("outcome") == "accepted" and not data.get("acceptedSuggestions"):
            raise ValidationError("acceptedSuggestions is required for accepted outcomes", "acceptedSuggestions")


class FeedbackSchema(_Lenient):
    feedback = fields.List(fields.Nested(FeedbackItemSchema), required=True, validate=validate.Length(min=1))


# --------------------------------------------------------------------------- response (strict)

class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _StrictBool(fields.Field):
    """JSON true/false only: marshmallow's Boolean would also pass "true", 1 or "yes" in an answer."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be a JSON boolean")
        return value


class _AbsoluteUrl(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValidationError("must be an absolute URL")
        return value


class _OutCoding(_Strict):
    system = fields.String(required=True, validate=validate.Length(min=1))
    code = fields.String(required=True, validate=validate.Length(min=1))
    display = fields.String(validate=validate.Length(min=1))


class _OverrideCoding(_OutCoding):
    display = fields.String(required=True, validate=validate.Length(min=1))


class _Source(_Strict):
    label = fields.String(required=True, validate=validate.Length(min=1))
    url = _AbsoluteUrl()
    icon = _AbsoluteUrl()
    topic = fields.Nested(_OutCoding)


class _Action(_Strict):
    type = fields.String(required=True, validate=validate.OneOf(["create", "update", "delete"]))
    description = fields.String(required=True, validate=validate.Length(min=1))
    resource = fields.Dict()
    resourceId = fields.String(validate=validate.Length(min=1))

    @validates_schema
    def _shape(self, data, **_):
        if data["type"] in ("create", "update") and not data.get("resource"):
            raise ValidationError(f"{data['type']} needs resource")
        if "resource" in data and not isinstance(data["resource"].get("resourceType"), str):
            raise ValidationError("resource must be a FHIR resource (with resourceType)")
        if data["type"] == "delete" and ("resource" in data or "resourceId" not in data):
            raise ValidationError("delete uses resourceId, not resource")


class _Suggestion(_Strict):
    label = fields.String(required=True, validate=validate.Length(min=1))
    uuid = fields.String(validate=validate.Length(min=1))
    isRecommended = _StrictBool()
    actions = fields.List(fields.Nested(_Action), validate=validate.Length(min=1))


class _Link(_Strict):
    label = fields.String(required=True, validate=validate.Length(min=1))
    url = _AbsoluteUrl(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["absolute", "smart"]))
    appContext = fields.String(validate=validate.Length(min=1))
    autolaunchable = _StrictBool()

    @validates_schema
    def _app_context(self, data, **_):
        if "appContext" in data and data["type"] != "smart":
            raise ValidationError("appContext only on smart links")


class _Card(_Strict):
    uuid = fields.String(validate=validate.Length(min=1))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=139))
    detail = fields.String(validate=validate.Length(min=1))
    indicator = fields.String(required=True, validate=validate.OneOf(["info", "warning", "critical"]))
    source = fields.Nested(_Source, required=True)
    suggestions = fields.List(fields.Nested(_Suggestion), validate=validate.Length(min=1))
    selectionBehavior = fields.String(validate=validate.OneOf(["at-most-one", "any"]))
    overrideReasons = fields.List(fields.Nested(_OverrideCoding), validate=validate.Length(min=1))
    links = fields.List(fields.Nested(_Link), validate=validate.Length(min=1))
    extension = fields.Dict(validate=validate.Length(min=1))

    @validates_schema
    def _rules(self, data, **_):
        if data.get("suggestions") and not data.get("selectionBehavior"):
            raise ValidationError("suggestions need selectionBehavior")
        if data.get("selectionBehavior") == "at-most-one":
            if sum(1 for s in data.get("suggestions", []) if s.get("isRecommended")) > 1:
                raise ValidationError("at most one suggestion may be recommended with at-most-one")


class _Response(_Strict):
    cards = fields.List(fields.Nested(_Card), required=True)
    systemActions = fields.List(fields.Nested(_Action), validate=validate.Length(min=1))


def _nulls(value: Any, path: str = "$") -> list[str]:
    found = []
    if value is None:
        found.append(f"{path} is null")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "resource":  # FHIR resources follow FHIR's own rules
                found += _nulls(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _nulls(item, f"{path}[{i}]")
    return found


def validate_response(body: Any) -> list[str]:
    """Every way ``body`` breaks the CDS Hooks 2.0 response rules, as readable strings (empty when valid)."""
    problems = _nulls(body)
    errors = _Response().validate(body if isinstance(body, dict) else {})
    if errors:
        problems.append(str(errors))
    return problems


_FEEDBACK = FeedbackSchema()


def load_feedback(body: Any) -> list[dict]:
    """The feedback items of a decoded JSON body (a bare list is accepted). :raise ValidationError:"""
    return _FEEDBACK.load(body if isinstance(body, dict) else {"feedback": body})["feedback"]
