"""Errors raised by the toolkit, each carrying its HTTP status.

    CdsHooksError                 500  base; never shown with a stack trace
     +-- BadRequest               400  malformed JSON, failed validation, wrong hook for this id
     +-- Unauthorized             401  client JWT missing or invalid (body carries no detail)
     +-- NotFound                 404  unknown service id
     +-- MethodNotAllowed         405
     +-- PreconditionFailed       412  required FHIR data could not be had (spec: "SHALL respond with 412")
     +-- PayloadTooLarge          413
     +-- UnsupportedMediaType     415
    FhirAccessError                    a fetch from the EHR's FHIR server failed (not an HTTP answer by itself)
     +-- FhirServerRefused             the URL is not allowed (scheme, host allowlist, private address)

Every error renders as a FHIR OperationOutcome, the body the 3.0 ballot recommends for non-2xx answers.
"""

from __future__ import annotations


class CdsHooksError(Exception):
    status = 500
    code = "exception"  # OperationOutcome.issue.code (FHIR issue-type value set)

    def __init__(self, message: str = "Internal error", *, expression: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.expression = expression or []

    def operation_outcome(self) -> dict:
        issue = {"severity": "error", "code": self.code, "diagnostics": self.message}
        if self.expression:
            issue["expression"] = list(self.expression)
        return {"resourceType": "OperationOutcome", "issue": [issue]}


class BadRequest(CdsHooksError):
    status = 400
    code = "invalid"


class Unauthorized(CdsHooksError):
    status = 401
    code = "login"

    def operation_outcome(self) -> dict:
        # Best practice: do not leak why a JWT was refused; the reason goes to the log only.
        return {"resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": self.code, "diagnostics": "Unauthorized"}]}


class NotFound(CdsHooksError):
    status = 404
    code = "not-found"


class MethodNotAllowed(CdsHooksError):
    status = 405
    code = "not-supported"


class PreconditionFailed(CdsHooksError):
    status = 412
    code = "incomplete"


class PayloadTooLarge(CdsHooksError):
    status = 413
    code = "too-costly"


class UnsupportedMediaType(CdsHooksError):
    status = 415
    code = "not-supported"


class FhirAccessError(Exception):
    """A read from the EHR's FHIR server failed: timeout, HTTP error, unreadable body, too large."""


class FhirServerRefused(FhirAccessError):
    """The fhirServer URL is not one this service may call (SSRF guard)."""
