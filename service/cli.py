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
    try:
        knowledge = load_knowledge(site_file=site_file)
    except KnowledgeError as exc:
        click.echo(f"knowledge base error: {exc}", err=True)
        sys.exit(2)
    click.echo(knowledge_report(knowledge))


@main.command("check-knowledge")
@click.option("--site", "site_file", envvar="SITE_KNOWLEDGE", type=click.Path(exists=True, dir_okay=False))
def check_knowledge(site_file: str | None) -> None:
    """Load and validate the knowledge base (and site overrides); exit 2 with the reason if broken."""
    try:
        knowledge = load_knowledge(site_file=site_file)
    except KnowledgeError as exc:
        click.echo(f"knowledge base error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"knowledge base {knowledge.version}: {len(knowledge.value_sets)} value sets, "
               f"{len(knowledge.policies)} policies, {len(knowledge.regimens)} regimens")
