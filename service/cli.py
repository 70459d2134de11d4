"""Command line: ``python -m service <command>``."""

from __future__ import annotations

import sys

import click

from .knowledge import KnowledgeError, load_knowledge
from .report import knowledge_report


@click.group()
def main() -> None:
    """Inotuzumab ozogamicin CDS Hooks service."""


@main.command("knowledge-report")
@click.option("--site", "site_file", envvar="SITE_KNOWLEDGE", type=click.Path(exists=True, dir_okay=False),
              help="Site override file (default: $SITE_KNOWLEDGE).")
def knowledge_report_cmd(site_file: str | None) -> None:
    """Print the whole knowledge base as markdown, for pharmacist sign-off."""
    click.echo(knowledge_report(_knowledge_or_exit(site_file)))


def _knowledge_or_exit(site_file: str | None):
    try:
        return load_knowledge(site_file=site_file)
    except KnowledgeError as exc:
        click.echo(f"knowledge base error: {exc}", err=True)
        sys.exit(2)


@main.command("check-knowledge")
@click.option("--site", "site_file", envvar="SITE_KNOWLEDGE", type=click.Path(exists=True, dir_okay=False))
def check_knowledge(site_file: str | None) -> None:
    """Load and validate the knowledge base (and site overrides); exit 2 with the reason if broken."""
    knowledge = _knowledge_or_exit(site_file)
    click.echo(f"knowledge base {knowledge.version}: {len(knowledge.value_sets)} value sets, "
               f"{len(knowledge.policies)} policies, {len(knowledge.regimens)} regimens")


# --------------------------------------------------------------------------- integration sandbox (docs/integration.md)

def _manifest(sandbox_dir: str | None):
    from .sandbox import ManifestError, load_manifest
    try:
        return load_manifest(sandbox_dir)
    except ManifestError as exc:
        click.echo(f"sandbox manifest error: {exc}", err=True)
        sys.exit(2)


_SANDBOX = click.option("--sandbox", "sandbox_dir", type=click.Path(exists=True, file_okay=False),
                        envvar="INOTUZUMAB_SANDBOX_DIR", help="Sandbox folder (default: the repository's sandbox/).")
_TOKEN = click.option("--token", envvar="FHIR_TOKEN", help="Bearer token for the FHIR server (default: $FHIR_TOKEN).")


@main.command("load-sandbox")
@click.option("--fhir-base", required=True, envvar="FHIR_BASE_URL", help="FHIR R4 base URL (default: $FHIR_BASE_URL).")
@_TOKEN
@_SANDBOX
@click.option("--wait", "wait_s", type=float, default=0.0, show_default=True,
              help="Seconds to wait for the server's /metadata before loading.")
def load_sandbox_cmd(fhir_base: str, token: str | None, sandbox_dir: str | None, wait_s: float) -> None:
    """Load the synthetic patients (dates made current) into a FHIR R4 server; safe to run again."""
    import requests

    from .sandbox.loader import format_loads, load_sandbox, wait_for_server
    manifest = _manifest(sandbox_dir)
    session = requests.Session()
    try:
        wait_for_server(fhir_base, session, wait_s, token=token)
    except ConnectionError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    results = load_sandbox(manifest, fhir_base, session=session, token=token)
    click.echo(format_loads(results, fhir_base))
    sys.exit(0 if all(r.ok for r in results) else 1)


@main.command("smoke")
@click.option("--fhir-base", required=True, envvar="FHIR_BASE_URL", help="FHIR base URL as this command reaches it.")
@click.option("--service", "service_url", required=True, help="Service base URL, e.g. http://127.0.0.1:8080.")
@click.option("--service-fhir-base", help="FHIR base URL as the service reaches it (default: --fhir-base).")
@_TOKEN
@_SANDBOX
@click.option("--patient", "patients", multiple=True, help="Only these patient ids (repeatable).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Also write the results as JSON.")
@click.option("--jwt-key", type=click.File("r"), help="PEM private key: sign CDS Client JWTs with it.")
@click.option("--jwt-iss", help="JWT issuer (with --jwt-key).")
@click.option("--jwt-kid", default="smoke", show_default=True)
@click.option("--jwt-alg", default="ES384", show_default=True)
@click.option("--jwt-jku", help="jku header to send (optional).")
def smoke_cmd(fhir_base, service_url, service_fhir_base, token, sandbox_dir, patients, report_path, jwt_key,
              jwt_iss, jwt_kid, jwt_alg, jwt_jku) -> None:
    """Call every hook for every sandbox patient, with and without prefetch; exit 1 on any mismatch."""
    import json

    import requests

    from .sandbox.smoke import ClientJwt, Smoke, format_report
    if bool(jwt_key) != bool(jwt_iss):
        raise click.UsageError("--jwt-key and --jwt-iss go together")
    manifest = _manifest(sandbox_dir)
    signer = ClientJwt(jwt_key.read(), jwt_iss, jwt_kid, jwt_alg, jwt_jku) if jwt_key else None
    smoke = Smoke(manifest, fhir_base, service_url, service_fhir_base, token, signer=signer)
    try:
        report = smoke.run(set(patients) or None)
    except requests.RequestException as exc:
        click.echo(f"cannot read the service's discovery at {service_url}: {exc}", err=True)
        sys.exit(2)
    click.echo(format_report(report))
    if report_path:
        with open(report_path, "w", encoding="utf-8") as out:
            json.dump(report.to_json(), out, indent=1)
    sys.exit(0 if report.ok else 1)


@main.command("evaluate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--hook", type=click.Choice(["patient-view", "order-select", "order-sign"]),
              help="For a patient Bundle: the hook to call (default: order-sign with --orders, else patient-view).")
@click.option("--orders", "orders_file", type=click.Path(exists=True, dir_okay=False),
              help="For a patient Bundle: a Bundle of draft orders (sandbox patients default to theirs).")
@click.option("--json", "as_json", is_flag=True, help="Print the CDS Hooks response JSON.")
@_SANDBOX
def evaluate_cmd(file: str, hook: str | None, orders_file: str | None, as_json: bool, sandbox_dir: str | None) -> None:
    """Run a hook request, or a patient Bundle, through the service in-process and print the cards."""
    from pathlib import Path

    from .sandbox import ManifestError, load_manifest
    from .sandbox.evaluate import EvaluateError, evaluate, render_json, render_text
    try:
        manifest = load_manifest(sandbox_dir)
    except ManifestError:
        manifest = None  # evaluating a file needs no sandbox; only the default draft orders come from it
    try:
        result = evaluate(Path(file), hook=hook, orders_path=Path(orders_file) if orders_file else None,
                          manifest=manifest)
    except (EvaluateError, KnowledgeError) as exc:
        click.echo(f"cannot evaluate {file}: {exc}", err=True)
        sys.exit(2)
    click.echo(render_json(result) if as_json else render_text(result))
    sys.exit(0 if result["status"] == 200 else 1)
