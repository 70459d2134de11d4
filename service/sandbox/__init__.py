"""The integration sandbox: synthetic patients on a real FHIR server, and the checks an integration engineer runs.

- ``data``: the manifest (sandbox/manifest.yaml), the patient Bundles and draft orders, and how their dates are
  made current (written as of an anchor day, shifted to the day of loading);
- ``loader``: ``load-sandbox``, a transaction per Bundle with a fallback to PUTs, idempotent;
- ``smoke``: ``smoke``, every patient and hook, with prefetch filled as a CDS client would and with none;
- ``expect``: one response held to the manifest (pure);
- ``evaluate``: ``evaluate FILE``, a hook request or patient Bundle through the service in-process.
This package sits above the service (it calls it as a client would) and nothing in the service imports it.
"""

from .data import Manifest, ManifestError, SandboxPatient, load_manifest, materialise
from .loader import BundleLoad, load_sandbox
from .smoke import ClientJwt, Smoke, SmokeReport

__all__ = ["BundleLoad", "ClientJwt", "Manifest", "ManifestError", "SandboxPatient", "Smoke", "SmokeReport",
           "load_manifest", "load_sandbox", "materialise"]
