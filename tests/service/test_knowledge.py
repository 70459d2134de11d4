"""The knowledge base: loaded and validated once, broken files stop start-up, sites override it, and the report."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from service.cli import main
from service.knowledge import CONFIDENCE, FILES, HERE, KnowledgeError, load_knowledge
from service.report import knowledge_report
from tests.builders import hook_request, medication_request, observation, patient
from tests.service.eligibility_support import KNOWLEDGE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "site-knowledge.example.yaml"
LOCAL_CD22 = ("urn:oid:2.16.840.1.113883.3.9999.7.1", "FLOW-CD22-BLAST")
ELIGIBILITY_SETS = ("inotuzumab", "b-all", "all-lineage-unstated", "t-all", "other-leukemia", "relapse-diagnosis",
                    "refractory-diagnosis", "relapse-clinical-status", "remission-clinical-status", "disease-status",
                    "disease-progression", "response-cr-cri", "cd22-result", "immunophenotype-narrative",
                    "result-positive", "result-negative")


def copy_base(tmp_path: Path) -> Path:
    for name in FILES:
        shutil.copy(HERE / name, tmp_path / name)
    return tmp_path


def edit(path: Path, change) -> None:
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def site_file(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


# --------------------------------------------------------------------------- the base

def test_every_value_set_policy_and_text_names_a_known_source_and_a_confidence_tag():
    for vs in KNOWLEDGE.value_sets.values():
        assert vs.source in KNOWLEDGE.sources and vs.confidence in CONFIDENCE, vs.id
    for policy in KNOWLEDGE.policies.values():
        assert policy.source in KNOWLEDGE.sources and policy.confidence in CONFIDENCE, policy.id
    for text in KNOWLEDGE.texts.values():
        assert text.source in KNOWLEDGE.sources, text.id


def test_the_eligibility_rules_find_every_code_list_and_threshold_they_use():
    for vs_id in ELIGIBILITY_SETS:
        KNOWLEDGE.vs(vs_id)
    assert KNOWLEDGE.value("minimum-age-years") == 1
    assert KNOWLEDGE.value("cd22-positive-above-percent") == 0
    assert KNOWLEDGE.value("lookback-cd22-days") == 90
    assert KNOWLEDGE.vs("refractory-diagnosis").codes == frozenset(), "no refractory code is confirmed"
    vocabulary = KNOWLEDGE.value("cd22-narrative-vocabulary")
    assert all(isinstance(words, list) and all(isinstance(w, str) for w in words) for words in vocabulary.values())


def test_the_cd22_threshold_default_states_that_the_label_gives_none():
    policy = KNOWLEDGE.policy("cd22-positive-above-percent")
    assert policy.confidence == "Policy" and "states no CD22 percentage" in policy.note


@pytest.mark.parametrize("change, where, fragment", [
    (lambda d: d["valueSets"]["b-all"].update(source="nowhere"), "valueSets.b-all", "unknown source 'nowhere'"),
    (lambda d: d["valueSets"]["b-all"].pop("description"), "eligibility.yaml", "description"),
    (lambda d: d["valueSets"]["b-all"].update(confidence="sure"), "eligibility.yaml", "confidence"),
    (lambda d: d["valueSets"]["b-all"]["codes"].append({"system": "made-up", "code": "1"}), "valueSets.b-all",
     "unknown code system 'made-up'"),
    (lambda d: d["policy"]["lookback-cd22-days"].pop("value"), "eligibility.yaml", "value"),
    (lambda d: d["policy"].update({"lookback-weight-days": d["policy"]["minimum-age-years"]}),
     "policy.lookback-weight-days", "defined twice"),
])
def test_a_broken_knowledge_file_stops_loading_with_a_message_naming_where(tmp_path, change, where, fragment):
    directory = copy_base(tmp_path)
    edit(directory / "eligibility.yaml", change)
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(directory)
    assert where in str(error.value) and fragment in str(error.value)


def test_a_broken_base_file_stops_the_app_from_starting(tmp_path, make_app, monkeypatch):
    directory = copy_base(tmp_path)
    edit(directory / "eligibility.yaml", lambda d: d["valueSets"]["b-all"].update(source="nowhere"))
    monkeypatch.setattr("service.app.load_knowledge",
                        lambda site_file=None: load_knowledge(directory, site_file=site_file))
    with pytest.raises(KnowledgeError, match="valueSets.b-all: unknown source"):
        make_app()


def test_unparsable_yaml_stops_loading(tmp_path):
    directory = copy_base(tmp_path)
    (directory / "eligibility.yaml").write_text("valueSets: [unclosed\n")
    with pytest.raises(KnowledgeError, match="eligibility.yaml: cannot read"):
        load_knowledge(directory)


# --------------------------------------------------------------------------- site overrides

def test_the_example_site_file_loads_and_marks_what_it_changed():
    knowledge = load_knowledge(site_file=EXAMPLE)
    assert knowledge.site == "Example Children's Hospital"
    assert knowledge.version == f"{KNOWLEDGE.version}+site.2026.11-1"
    assert knowledge.vs("cd22-result").has(*LOCAL_CD22) and knowledge.vs("cd22-result").site_modified
    assert knowledge.value("cd22-positive-above-percent") == 20
    policy = knowledge.policy("cd22-positive-above-percent")
    assert policy.site_modified and policy.confidence == "Site" and policy.source == "site-config"
    assert knowledge.vs("inotuzumab").matches_name("INO OZOGAMICIN 1 mg")
    assert not knowledge.policy("lookback-disease-status-days").site_modified


def test_a_site_can_remove_a_default_code(tmp_path):
    path = site_file(tmp_path, {"site": "S", "version": "1", "valueSets": {
        "cd22-result": {"remove": [{"system": "loinc", "code": "14017-8"}]}}})
    assert load_knowledge(site_file=path).vs("cd22-result").codes == frozenset()


@pytest.mark.parametrize("document, fragment", [
    ({"site": "S", "version": "1", "valueSets": {"cd22-results": {"add": []}}}, "valueSets.cd22-results does not exist"),
    ({"site": "S", "version": "1", "policy": {"cd22-cutoff": {"value": 20}}}, "policy.cd22-cutoff does not exist"),
    ({"site": "S", "version": "1", "policy": {"lookback-cd22-days": {"value": "ninety"}}}, "must be a int"),
    ({"site": "S", "version": "1", "policy": {"cd22-threshold-inclusive": {"value": 1}}}, "must be a bool"),
    ({"site": "S", "version": "1", "policy": {"lookback-cd22-days": {"value": 60, "unit": "d"}}}, "unit"),
    ({"site": "S", "policy": {"lookback-cd22-days": {"value": 60}}}, "version"),
    ({"site": "S", "version": "1", "valueSets": {"cd22-result": {"add": [{"system": "loinc"}]}}}, "code"),
])
def test_a_broken_site_file_stops_start_up_with_a_clear_message(tmp_path, make_app, document, fragment):
    path = site_file(tmp_path, document)
    with pytest.raises(KnowledgeError) as error:
        make_app(site_knowledge=str(path))
    assert str(path) in str(error.value) and fragment in str(error.value)


def test_a_site_override_changes_the_decision_without_code_changes(make_app):
    local = observation(LOCAL_CD22[1], system=LOCAL_CD22[0], value=20, unit="%", obs_id="local-cd22")
    body = hook_request(orders=[medication_request(mr_id="ino-1")], prefetch={"patient": patient(), "labs": {
        "resourceType": "Bundle", "type": "searchset", "entry": [{"resource": local}]}})

    def cd22_status(app) -> str:
        cards = app.test_client().post("/cds-services/inotuzumab-order-check", json=body).json["cards"]
        card = next(c for c in cards if c["detail"].startswith("**Verdict:"))
        return card["extension"]["inotuzumab-cds.assessment"]["criteria"]["cd22"]["status"]

    assert cd22_status(make_app()) == "unknown"                              # the local code is not known
    assert cd22_status(make_app(site_knowledge=str(EXAMPLE))) == "met"       # 20% >= 20% under the site rule


# --------------------------------------------------------------------------- the report and the CLI

def test_the_report_lists_every_value_set_policy_and_label_text():
    report = knowledge_report(KNOWLEDGE)
    assert report.startswith(f"# Inotuzumab CDS knowledge base, version {KNOWLEDGE.version}")
    for vs_id in KNOWLEDGE.value_sets:
        assert f"### {vs_id}" in report
    for policy_id in KNOWLEDGE.policies:
        assert f"| {policy_id} |" in report
    assert KNOWLEDGE.text("indication") in report


def test_the_cli_prints_the_report_and_marks_site_entries():
    runner = CliRunner(env={"SITE_KNOWLEDGE": None})
    plain = runner.invoke(main, ["knowledge-report"])
    assert plain.exit_code == 0 and "| cd22-positive-above-percent | 0 % |" in plain.output
    site = runner.invoke(main, ["knowledge-report", "--site", str(EXAMPLE)])
    assert site.exit_code == 0
    assert "Site overrides in effect: **Example Children's Hospital**" in site.output
    assert "| cd22-positive-above-percent *site* | 20 % |" in site.output


def test_the_cli_exits_2_with_the_reason_for_a_broken_site_file(tmp_path):
    path = site_file(tmp_path, {"site": "S", "version": "1", "policy": {"nope": {"value": 1}}})
    for command in ("knowledge-report", "check-knowledge"):
        result = CliRunner(env={"SITE_KNOWLEDGE": None}).invoke(main, [command, "--site", str(path)])
        assert result.exit_code == 2
        assert "policy.nope does not exist" in result.output


def test_check_knowledge_summarises_a_valid_base():
    result = CliRunner(env={"SITE_KNOWLEDGE": None}).invoke(main, ["check-knowledge"])
    assert result.exit_code == 0 and KNOWLEDGE.version in result.output


def test_python_dash_m_service_knowledge_report_runs_as_documented():
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "service", "knowledge-report"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Inotuzumab CDS knowledge base")


@pytest.mark.parametrize("url", ["not a url", "ftp://example.org/x", "https://", "https://example.org/a b",
                                 "https://[::1"])
def test_a_source_url_that_is_not_an_absolute_http_url_is_refused(url):
    from marshmallow import ValidationError

    from service.knowledge import _SourceSchema
    with pytest.raises(ValidationError):
        _SourceSchema().load({"label": "x", "url": url, "confidence": "FDA"})
    assert _SourceSchema().load({"label": "x", "url": "https://www.fda.gov/x?y=1", "confidence": "FDA"})
