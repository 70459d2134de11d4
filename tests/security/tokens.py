"""Signing keys and JWTs for the authentication tests: what a CDS Client (EHR) would send us."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://ehr.example.org/fhir"
JKU = "https://ehr.example.org/.well-known/jwks.json"
BASE_URL = "https://cds.example.org"
ORDER_AUD = f"{BASE_URL}/cds-services/inotuzumab-order-check"
DISCOVERY_AUD = f"{BASE_URL}/cds-services"

# The spec's own example (CDS Hooks 2.0.1, "Trusting CDS Clients" > Example): header, public JWK and token.
SPEC_ISSUER = "https://fhir-ehr.example.com/"
SPEC_JKU = "https://fhir-ehr.example.com/jwk_uri"
SPEC_AUD = "https://cds.example.org/cds-services/some-service"
SPEC_EXP = 1422568860
SPEC_IAT = 1311280970
SPEC_JWKS = {"keys": [{
    "kty": "EC", "use": "sig", "crv": "P-384", "kid": "example-kid",
    "x": "46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
    "y": "XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI", "alg": "ES384"}]}
SPEC_TOKEN = (
    "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxlLmNvbS9q"
    "d2tfdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1z"
    "ZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJh"
    "NWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0.d1WfLjGRKlcWB94l9do4cM8R"
    "EXeYJLL6SGUBO8VHZhfM8mwKYP70EMxJ67War4TQblEpaQrp11wx5p7oPFm2ETYgCicS84vXWEIYTdjooZdooCSDf2L8-i4awdoUwiEb")


@dataclass
class Signer:
    """One key pair of a CDS Client: signs tokens and publishes its public JWK."""

    alg: str
    kid: str = field(default_factory=lambda: f"kid-{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        if self.alg.startswith("ES"):
            curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[self.alg]
            self.private_key = ec.generate_private_key(curve)
            public = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        else:
            self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        self.jwk = {**public, "kid": self.kid, "use": "sig", "alg": self.alg}

    def token(self, now: datetime, *, headers: dict | None = None, drop: tuple[str, ...] = (), **claims) -> str:
        payload = {"iss": ISSUER, "aud": ORDER_AUD, "iat": int(now.timestamp()),
                   "exp": int(now.timestamp()) + 300, "jti": str(uuid.uuid4()), **claims}
        for name in drop:
            payload.pop(name, None)
        header = {"kid": self.kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(payload, self.private_key, algorithm=self.alg, headers=header)


def jwks(*signers: Signer) -> dict:
    return {"keys": [s.jwk for s in signers]}
