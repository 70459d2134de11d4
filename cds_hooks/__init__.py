"""A CDS Hooks 2.0 toolkit: wire models, request validation, service registry and discovery, prefetch
templates and their fulfilment, feedback and audit storage, client JWT verification, and a Flask blueprint.

Dependency rule: this package knows the protocol and nothing about any drug or guideline. It never imports
``service``; Flask is imported only in ``blueprint.py``.
"""

from .errors import (BadRequest, CdsHooksError, FhirAccessError, FhirServerRefused, MethodNotAllowed, NotFound,
                     PayloadTooLarge, PreconditionFailed, Unauthorized, UnsupportedMediaType)
from .fhir import FhirClient, FhirLimits, UrlPolicy
from .models import (Action, ActionType, Card, Coding, FhirAuthorization, HookRequest, HookResponse, Indicator,
                     Link, LinkType, SelectionBehavior, ServiceDefinition, Source, Suggestion, new_uuid)
from .prefetch import Prefetched, PrefetchFulfiller, TemplateError, render_template
from .registry import ServiceRegistry
from .schemas import load_hook_request, validate_response

__all__ = [
    "Action", "ActionType", "BadRequest", "Card", "CdsHooksError", "Coding", "FhirAccessError", "FhirAuthorization",
    "FhirClient", "FhirLimits", "FhirServerRefused", "HookRequest", "HookResponse", "Indicator", "Link", "LinkType",
    "MethodNotAllowed", "NotFound", "PayloadTooLarge", "PreconditionFailed", "Prefetched", "PrefetchFulfiller",
    "SelectionBehavior", "ServiceDefinition", "ServiceRegistry", "Source", "Suggestion", "TemplateError",
    "Unauthorized", "UnsupportedMediaType", "UrlPolicy", "load_hook_request", "new_uuid", "render_template", "validate_response",
]
