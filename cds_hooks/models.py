"""Typed CDS Hooks 2.0 objects: what a request carries and what a service answers.

Plain frozen dataclasses; JSON conversion lives in ``schemas.py``. Response objects render themselves with
``to_json()``, which omits optional fields that have no value (spec, "Use of JSON": optional and empty
elements MUST be omitted), so a card can never carry ``"detail": ""`` or ``"links": []``.
"""

from __future__ import annotations

import enum
import uuid as _uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


class Indicator(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ("info", "warning", "critical").index(self.value)


class SelectionBehavior(str, enum.Enum):
    AT_MOST_ONE = "at-most-one"
    ANY = "any"


class ActionType(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class LinkType(str, enum.Enum):
    ABSOLUTE = "absolute"
    SMART = "smart"


def new_uuid() -> str:
    return str(_uuid.uuid4())


def _prune(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if v is not None and v != [] and v != {} and v != ""}


# --------------------------------------------------------------------------- request side

@dataclass(frozen=True)
class FhirAuthorization:
    access_token: str = field(repr=False)  # never printed, logged or stored
    token_type: str = "Bearer"
    scope: str | None = None
    subject: str | None = None
    expires_in: int | None = None  # REQUIRED by the spec, omitted by some sandboxes: tolerated
    patient: str | None = None


@dataclass(frozen=True)
class HookRequest:
    hook: str
    hook_instance: str
    context: Mapping[str, Any]
    fhir_server: str | None = None
    fhir_authorization: FhirAuthorization | None = None
    # key -> value exactly as sent; a key that is absent was not attempted, a key mapped to None is "no data".
    prefetch: Mapping[str, Any] = field(default_factory=dict)

    @property
    def patient_id(self) -> str | None:
        value = self.context.get("patientId")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class ServiceDefinition:
    """One discovery entry. The same id may be declared for several hooks (spec "update stale guidance")."""

    id: str
    hook: str
    description: str
    title: str | None = None
    prefetch: Mapping[str, str] = field(default_factory=dict)
    usage_requirements: str | None = None
    required_prefetch: frozenset[str] = frozenset()  # keys without which the service cannot decide (412)

    def to_json(self) -> dict:
        return _prune({
            "hook": self.hook, "title": self.title, "description": self.description, "id": self.id,
            "prefetch": dict(self.prefetch) or None, "usageRequirements": self.usage_requirements,
        })


# --------------------------------------------------------------------------- response side

@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str | None = None

    def to_json(self) -> dict:
        return _prune({"system": self.system, "code": self.code, "display": self.display})


@dataclass(frozen=True)
class Source:
    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None

    def to_json(self) -> dict:
        return _prune({"label": self.label, "url": self.url, "icon": self.icon,
                       "topic": self.topic.to_json() if self.topic else None})


@dataclass(frozen=True)
class Action:
    type: ActionType
    description: str
    resource: Mapping[str, Any] | None = None
    resource_id: str | None = None

    def __post_init__(self):
        if self.type in (ActionType.CREATE, ActionType.UPDATE) and not self.resource:
            raise ValueError(f"a {self.type.value} action needs a resource")
        if self.type is ActionType.DELETE and not self.resource_id:
            raise ValueError("a delete action needs a resourceId")

    def to_json(self) -> dict:
        return _prune({"type": self.type.value, "description": self.description,
                       "resource": dict(self.resource) if self.resource else None, "resourceId": self.resource_id})


@dataclass(frozen=True)
class Suggestion:
    label: str
    actions: tuple[Action, ...] = ()
    is_recommended: bool | None = None
    uuid: str = field(default_factory=new_uuid)

    def to_json(self) -> dict:
        return _prune({"label": self.label, "uuid": self.uuid, "isRecommended": self.is_recommended,
                       "actions": [a.to_json() for a in self.actions]})


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    type: LinkType = LinkType.ABSOLUTE
    app_context: str | None = None

    def __post_init__(self):
        if self.app_context is not None and self.type is not LinkType.SMART:
            raise ValueError("appContext is only valid on smart links")

    def to_json(self) -> dict:
        return _prune({"label": self.label, "url": self.url, "type": self.type.value, "appContext": self.app_context})


@dataclass(frozen=True)
class Card:
    summary: str
    indicator: Indicator
    source: Source
    detail: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    selection_behavior: SelectionBehavior | None = None
    override_reasons: tuple[Coding, ...] = ()
    links: tuple[Link, ...] = ()
    extension: Mapping[str, Any] | None = None
    uuid: str = field(default_factory=new_uuid)

    def __post_init__(self):
        if len(self.summary) >= 140:
            raise ValueError(f"card summary must be under 140 characters ({len(self.summary)})")
        if self.suggestions and self.selection_behavior is None:
            raise ValueError("a card with suggestions needs selectionBehavior")
        if any(not reason.display for reason in self.override_reasons):
            raise ValueError("every override reason needs a display")

    def to_json(self) -> dict:
        return _prune({
            "uuid": self.uuid, "summary": self.summary, "detail": self.detail,
            "indicator": self.indicator.value, "source": self.source.to_json(),
            "suggestions": [s.to_json() for s in self.suggestions],
            "selectionBehavior": self.selection_behavior.value if self.selection_behavior else None,
            "overrideReasons": [r.to_json() for r in self.override_reasons],
            "links": [link.to_json() for link in self.links],
            "extension": dict(self.extension) if self.extension else None,
        })


@dataclass(frozen=True)
class HookResponse:
    cards: tuple[Card, ...] = ()
    system_actions: tuple[Action, ...] = ()
    # Not sent: what the audit trail and logs record about the decision (e.g. a verdict), free of PHI.
    outcome: str | None = None
    log_fields: Mapping[str, Any] | None = None

    def to_json(self) -> dict:
        body: dict = {"cards": [c.to_json() for c in self.cards]}
        if self.system_actions:
            body["systemActions"] = [a.to_json() for a in self.system_actions]
        return body


Handler = Callable[..., HookResponse]
