"""The service registry: each (id, hook) declared once; routes and discovery are derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from .errors import BadRequest, NotFound
from .models import HookRequest, HookResponse, ServiceDefinition
from .prefetch import Prefetched, check_template

# A handler decides from the request and the prefetched data alone. It runs inside the blueprint's CPU gate
# (gate.py), so it must not wait on the network: data it needs is declared as prefetch and fetched before it runs.
ServiceHandler = Callable[[HookRequest, Prefetched], HookResponse]


@dataclass(frozen=True)
class RegisteredService:
    definition: ServiceDefinition
    handler: ServiceHandler
    # Optional cheap test on the request alone; False answers {"cards": []} without fetching anything.
    applies: Callable[[HookRequest], bool] | None = None


class ServiceRegistry:
    def __init__(self) -> None:
        self._services: dict[tuple[str, str], RegisteredService] = {}

    def add(self, definition: ServiceDefinition, handler: ServiceHandler,
            applies: Callable[[HookRequest], bool] | None = None) -> None:
        """:raise ValueError: a duplicate (id, hook), a template with a non-STU2 token, or a required key that
        is not one of the service's prefetch keys (it could never be had, so every call would be a 412)."""
        key = (definition.id, definition.hook)
        for template in definition.prefetch.values():
            check_template(template)  # TemplateError is a ValueError
        unknown = sorted(definition.required_prefetch - set(definition.prefetch))
        if unknown:
            raise ValueError(f"required prefetch keys {unknown} are not prefetch keys of {definition.id!r}")
        if key in self._services:
            raise ValueError(f"service {definition.id!r} is already registered for hook {definition.hook!r}")
        self._services[key] = RegisteredService(definition, handler, applies)

    def service(self, **definition) -> Callable[[ServiceHandler], ServiceHandler]:
        """Decorator form of :meth:`add`; ``hooks=[...]`` registers one handler for several hooks."""
        hooks = definition.pop("hooks", None) or [definition.pop("hook")]
        applies = definition.pop("applies", None)

        def register(handler: ServiceHandler) -> ServiceHandler:
            for hook in hooks:
                self.add(ServiceDefinition(hook=hook, **definition), handler, applies)
            return handler
        return register

    def ids(self) -> set[str]:
        return {service_id for service_id, _ in self._services}

    def resolve(self, service_id: str, hook: str) -> RegisteredService:
        """:raise NotFound: unknown id. :raise BadRequest: the id exists but does not serve ``hook``."""
        if service_id not in self.ids():
            raise NotFound(f"No CDS service with id {service_id!r}")
        found = self._services.get((service_id, hook))
        if found is None:
            served = sorted(h for i, h in self._services if i == service_id)
            raise BadRequest(f"Service {service_id!r} does not serve hook {hook!r}; it serves {', '.join(served)}",
                             expression=["hook"])
        return found

    def definitions(self) -> Iterable[ServiceDefinition]:
        # Sorted so that GET /cds-services is deterministic.
        return [self._services[key].definition for key in sorted(self._services)]

    def discovery(self) -> dict:
        return {"services": [d.to_json() for d in self.definitions()]}
