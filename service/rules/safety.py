"""Label safety checks before each dose: liver and VOD, transplant, counts, circulating blasts, QT, pregnancy, course.

One ``SafetyFinding`` per check id of the assessment contract, in the contract's order, each ``ok``, ``flagged`` or
``unknown`` with a detail a clinician can read (values, dates, records, the rule and its label source). Missing,
stale, unreadable or contradictory data gives ``unknown`` naming what is missing, never a reassuring ``ok``.
Every code, threshold, window and label sentence comes from ``knowledge/safety.yaml``; nothing is rendered here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..assessment import SafetyFinding, Severity
from ..fhirdates import age_in_years_bounds, effective_time, fmt_date
from ..knowledge import Knowledge, codings
from ..patient import PatientRecord, reference_of
from ..units import convert
from .course import Course
from .safety_labs import Reading, lab, num, results, rounded, upper_limit

CHECKS = ("hepatic-function", "vod-history", "prior-hsct", "blood-counts", "peripheral-blasts", "qt", "pregnancy",
          "treatment-course")
COUNT_UNIT = "10*9/L"


@dataclass(frozen=True)
class LabOrder:
    """Tests a card may offer to order (ids of ``order-*`` value sets), for whom, and why."""

    label: str
    orders: tuple[str, ...]
    subject: str
    reason: str


@dataclass(frozen=True)
class Transplants:
    prior: tuple[tuple[str, str], ...]    # (description, reference)
    planned: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Context:
    record: PatientRecord
    knowledge: Knowledge
    order_ref: str | None
    course: Course
    cycle: int
    day1: bool
    transplants: Transplants

    def text(self, text_id: str) -> str:
        return self.knowledge.text(text_id)

    def lab_order(self, label: str, orders: tuple[str, ...], why: str) -> LabOrder | None:
        """Only value sets that hold a code: an unconfigured orderable is never suggested."""
        orders = tuple(o for o in orders if self.knowledge.vs(o).codes)
        if not orders:
            return None
        before = f"Before inotuzumab ozogamicin ({self.order_ref})" if self.order_ref else "Inotuzumab ozogamicin"
        return LabOrder(label, orders, f"Patient/{self.record.patient_id}", f"{before}: {why}")


def assess_safety(record: PatientRecord, knowledge: Knowledge, order, course: Course, dosing) -> list[SafetyFinding]:
    """The label's checks for the dose ``order`` would give now (patient-view: ``order`` is None)."""
    cycle, day1 = course.position(record.now)
    ctx = Context(record, knowledge, reference_of(order) if order is not None else None, course, cycle, day1,
                  _transplants(record, knowledge))
    checks = (_hepatic, _vod, _hsct, _counts, _blasts, _qt, _pregnancy, _course)
    return [_cited(check(ctx), knowledge) for check in checks]


def _cited(finding: SafetyFinding, knowledge: Knowledge) -> SafetyFinding:
    """Append the sources of the knowledge sentences the detail quotes, so the rule's basis travels with it."""
    used: list[str] = []
    for text in knowledge.texts.values():
        probe = text.text.split("{")[0]
        if text.id.startswith("safety-") and probe and probe in (finding.detail or "") and text.source not in used:
            used.append(text.source)
    labels = [knowledge.source(s).label + (f" ({knowledge.source(s).confidence})"
                                           if knowledge.source(s).confidence in ("Secondary", "NOT-CONFIRMED") else "")
              for s in used]
    return replace(finding, detail=f"{finding.detail} Source: {'; '.join(labels)}.") if labels else finding


# --------------------------------------------------------------------------- hepatic-function, vod-history

_HEPATIC = (("bilirubin-total", "Total bilirubin", "mg/dL", "uln-bilirubin-default", "bilirubin-max-uln",
             "order-bilirubin"),
            ("ast", "AST", "U/L", "uln-ast-default", "transaminase-max-uln", "order-ast"),
            ("alt", "ALT", "U/L", "uln-alt-default", "transaminase-max-uln", "order-alt"))


def _hepatic(ctx: Context) -> SafetyFinding:
    days = ctx.knowledge.value("lookback-liver-days")
    lines, high, unsure, absent, evidence = [], [], [], [], []
    for vs_id, name, unit, uln_policy, limit_policy, orderable in _HEPATIC:
        reading = lab(ctx.record, ctx.knowledge, vs_id, name, unit, days)
        if reading.reference and reading.usable:
            evidence.append(reading.reference)
        if not reading.usable:
            (absent if reading.absent else unsure).append((name, orderable))
            lines.append(reading.line())
            continue
        uln, basis = upper_limit(ctx.knowledge, reading, uln_policy)
        limit = float(ctx.knowledge.value(limit_policy))
        if uln is None:
            unsure.append((name, orderable))
            lines.append(f"{reading.line()}: no upper limit of normal (no numeric referenceRange.high and no "
                         f"site default, policy {uln_policy})")
            continue
        ratio = rounded(reading.value / uln)
        above = ratio > limit
        lines.append(f"{reading.line()} = {num(ratio)} × ULN {num(uln)} {unit} ({basis}); limit {num(limit)} × ULN"
                     + (": **above**" if above else ""))
        if above:
            high.append(name)
    body = " ".join(f"{line}." for line in lines)
    if high:
        detail = (f"Above the label limit before this dose: {', '.join(high)}. {body} "
                  f"{ctx.text('safety-hepatic-rule')} {ctx.text('safety-hepatic-conservative')} "
                  f"{ctx.text('safety-hepatic-exception')}")
        return SafetyFinding("hepatic-function", "flagged", Severity.WARNING, detail, tuple(evidence),
                             _hepatic_order(ctx, absent))
    if absent or unsure:
        names = ", ".join(name for name, _ in absent + unsure)
        detail = f"Liver tests not assessable for this dose ({names}). {body} {ctx.text('safety-hepatic-monitoring')}"
        return SafetyFinding("hepatic-function", "unknown", None, detail, tuple(evidence), _hepatic_order(ctx, absent))
    return SafetyFinding("hepatic-function", "ok", None, f"Within the label limits. {body}", tuple(evidence))


def _hepatic_order(ctx: Context, absent: list) -> LabOrder | None:
    if not absent:
        return None
    if ctx.knowledge.value("hepatic-order-as-panel") is True:
        return ctx.lab_order("Order a hepatic function panel", ("order-hepatic-panel",), "liver tests before each dose")
    names = ", ".join(name for name, _ in absent)
    return ctx.lab_order(f"Order {names}", tuple(o for _, o in absent), f"{names} before each dose (label Table 3)")


def _vod(ctx: Context) -> SafetyFinding:
    conditions = ctx.record.conditions_in(ctx.knowledge.vs("vod"))
    if not conditions and "diagnoses" in ctx.record.unavailable:
        return SafetyFinding("vod-history", "unknown", None,
                             "The patient's diagnoses could not be retrieved from the EHR: VOD/SOS history unknown.")
    if not conditions:
        return SafetyFinding("vod-history", "ok", None,
                             "No VOD/SOS diagnosis on record (any clinical status, including resolved, would count).")
    items = "; ".join(f"{_display(c.code)} ({_status(c.clinicalStatus)}, {fmt_date(effective_time(c))}, "
                      f"{reference_of(c)})" for c in conditions)
    return SafetyFinding("vod-history", "flagged", Severity.CRITICAL,
                         f"VOD/SOS on record: {items}. {ctx.text('safety-vod-rule')}",
                         tuple(reference_of(c) for c in conditions))


def _display(concept) -> str:
    coding = (getattr(concept, "coding", None) or [None])[0]
    return getattr(concept, "text", None) or getattr(coding, "display", None) or getattr(coding, "code", None) or "?"


def _status(concept) -> str:
    return next((code for _, code in codings(concept) if code), "no clinical status")


# --------------------------------------------------------------------------- prior-hsct

def _transplants(record: PatientRecord, knowledge: Knowledge) -> Transplants:
    """Prior HSCT from status diagnoses or completed procedures; planned from procedures and service requests."""
    procedures = knowledge.vs("hsct-procedure")
    prior = [(f"{_display(c.code)} ({fmt_date(effective_time(c))})", reference_of(c))
             for c in record.conditions_in(knowledge.vs("hsct-status"))]
    planned = []
    for procedure in record.procedures:
        if not procedures.matches(procedure.code):
            continue
        entry = (f"{_display(procedure.code)} ({procedure.status}, {fmt_date(effective_time(procedure))})",
                 reference_of(procedure))
        if procedure.status == "completed":
            prior.append(entry)
        elif procedure.status == "preparation":
            planned.append(entry)
    for request in record.service_requests:
        if procedures.matches(request.code) and request.status in ("active", "draft"):
            planned.append((f"{_display(request.code)} (request {request.status}, "
                            f"{fmt_date(effective_time(request))})", reference_of(request)))
    return Transplants(tuple(prior), tuple(planned))


def _hsct(ctx: Context) -> SafetyFinding:
    found = ctx.transplants
    unconfigured = "" if ctx.knowledge.vs("hsct-procedure").codes else (
        " HSCT procedure codes are not configured at this site (value set hsct-procedure is empty): only "
        "transplant-status diagnoses were checked, and a planned HSCT cannot be seen.")
    missing = sorted({"diagnoses", "transplants"} & ctx.record.unavailable)
    if not found.prior and not found.planned and missing:
        return SafetyFinding("prior-hsct", "unknown", None, f"The patient's {' and '.join(missing)} could not be "
                             f"retrieved from the EHR: prior or planned HSCT unknown.{unconfigured}")
    if not found.prior and not found.planned:
        return SafetyFinding("prior-hsct", "ok", None, f"No HSCT on record, done or planned.{unconfigured}")
    parts = []
    if found.prior:
        parts.append(f"Prior HSCT: {'; '.join(d for d, _ in found.prior)}: higher risk of VOD. "
                     f"{ctx.text('safety-hsct-prior')}")
    if found.planned:
        parts.append(f"HSCT planned: {'; '.join(d for d, _ in found.planned)}: recommended course of "
                     f"{ctx.knowledge.value('max-cycles-before-hsct')} cycles. {ctx.text('safety-hsct-planned')} "
                     f"{ctx.text('safety-hsct-conditioning')}")
    detail = " ".join(parts) + f" {ctx.text('safety-hsct-nrm')}{unconfigured}"
    refs = tuple(r for _, r in found.prior + found.planned)
    return SafetyFinding("prior-hsct", "flagged", Severity.WARNING, detail, refs)


# --------------------------------------------------------------------------- blood-counts, peripheral-blasts

def _count_readings(ctx: Context, before: datetime | None = None) -> tuple[Reading, Reading]:
    days = ctx.knowledge.value("lookback-counts-days")
    return (lab(ctx.record, ctx.knowledge, "anc", "ANC", COUNT_UNIT, days, before),
            lab(ctx.record, ctx.knowledge, "platelets", "Platelets", COUNT_UNIT, days, before))


def _count_order(ctx: Context, readings: tuple[Reading, ...]) -> LabOrder | None:
    missing = [r for r in readings if not r.usable]
    if not missing:
        return None
    if ctx.knowledge.vs("order-cbc-differential").codes:
        return ctx.lab_order("Order a CBC with differential", ("order-cbc-differential",), "ANC and platelets")
    orders = tuple({"ANC": "order-anc", "Platelets": "order-platelets"}[r.name] for r in missing)
    names = " and ".join({"ANC": "ANC", "Platelets": "platelet count"}[r.name] for r in missing)
    return ctx.lab_order(f"Order {names}", orders, f"{names} before a new cycle (label Table 2)")


def _history_unknown(ctx: Context) -> str | None:
    """Why the cycle and day of this dose cannot be known (undated or unretrievable inotuzumab history)."""
    if not ctx.course.undated:
        return None
    return f"the cycle and day of this dose are unknown ({', '.join(ctx.course.undated)})"


def _counts(ctx: Context) -> SafetyFinding:
    anc, platelets = _count_readings(ctx)
    values = f"{anc.line()}. {platelets.line()}."
    evidence = tuple(r.reference for r in (anc, platelets) if r.usable)
    unknown = _history_unknown(ctx)
    if unknown:
        return SafetyFinding("blood-counts", "unknown", None, f"Cannot apply label Table 2: {unknown}. {values}",
                             evidence)
    if not ctx.day1:
        return SafetyFinding("blood-counts", "ok", None, f"Day 8/15 dose of cycle {ctx.cycle}: low counts are not a "
                             f"reason to hold it. {ctx.text('safety-counts-within-cycle')} {values}", evidence)
    if not (anc.usable and platelets.usable):
        when = "the cycle 1 baseline" if ctx.cycle == 1 else f"day 1 of cycle {ctx.cycle} (label Table 2)"
        return SafetyFinding("blood-counts", "unknown", None, f"ANC and platelets needed for {when}. {values}",
                             evidence, _count_order(ctx, (anc, platelets)))
    if ctx.cycle == 1:
        return SafetyFinding("blood-counts", "ok", None,
                             f"Baseline before cycle 1: {values} {ctx.text('safety-counts-baseline')} "
                             f"{ctx.text('safety-counts-transfusion')}", evidence)
    return _table_2(ctx, anc, platelets, evidence)


def _table_2(ctx: Context, anc: Reading, platelets: Reading, evidence: tuple) -> SafetyFinding:
    """Label Table 2: the row depends on the counts before treatment; the low-baseline row also accepts recovery
    to the counts before the prior cycle."""
    anc_min, plt_min = (float(ctx.knowledge.value(p)) for p in ("anc-min", "platelets-min"))
    base = _count_readings(ctx, ctx.course.started)
    low_base = any(r.usable and rounded(r.value) < m for r, m in zip(base, (anc_min, plt_min)))
    base_line = (f"Before treatment ({fmt_date(ctx.course.started)}): {base[0].line()}; {base[1].line()}."
                 + ("" if all(r.usable for r in base) else " Where the baseline is unknown the absolute limits apply."))
    header = f"Before day 1 of cycle {ctx.cycle}: {anc.line()}; {platelets.line()}. {base_line}"
    transfusion = ctx.text("safety-counts-transfusion")
    low = [f"{r.name} {num(r.value)} < {num(m)} × 10⁹/L" for r, m in ((anc, anc_min), (platelets, plt_min))
           if rounded(r.value) < m]
    if not low:
        return SafetyFinding("blood-counts", "ok", None, f"{header} {transfusion}", evidence)
    if low_base:
        prior_day1 = ctx.course.cycles[-1][0].when
        prior = _count_readings(ctx, prior_day1)
        if all(p.usable for p in prior) and all(rounded(c.value) >= rounded(p.value)
                                                 for c, p in zip((anc, platelets), prior)):
            return SafetyFinding("blood-counts", "ok", None,
                                 f"{header} Recovered to at least the counts before the prior cycle "
                                 f"({prior[0].line()}; {prior[1].line()}). {ctx.text('safety-counts-low-baseline')} "
                                 f"{transfusion}", evidence + tuple(p.reference for p in prior))
        rule = ctx.text("safety-counts-low-baseline")
    else:
        rule = " ".join(ctx.text(t) for t, r, m in (("safety-counts-anc", anc, anc_min),
                                                    ("safety-counts-platelets", platelets, plt_min))
                        if rounded(r.value) < m)
    return SafetyFinding("blood-counts", "flagged", Severity.WARNING,
                         f"Low counts before a new cycle: {', '.join(low)}. {header} {rule} {transfusion}", evidence)


def _blasts(ctx: Context) -> SafetyFinding:
    unknown = _history_unknown(ctx)
    if unknown:
        return SafetyFinding("peripheral-blasts", "unknown", None,
                             f"Cannot tell whether this is the first dose of cycle 1: {unknown}.")
    if ctx.course.on_course or ctx.cycle != 1 or not ctx.day1:
        return SafetyFinding("peripheral-blasts", "ok", None, "Applies before the first dose of cycle 1 only; "
                             f"this dose is in cycle {ctx.cycle} of a course already started.")
    policy = ctx.knowledge.policy("peripheral-blasts-max")
    limit = float(policy.value)
    reading = lab(ctx.record, ctx.knowledge, "peripheral-blasts", "Circulating blasts", policy.unit or COUNT_UNIT,
                   ctx.knowledge.value("lookback-blasts-days"))
    rule = ctx.text("safety-blasts-rule")
    if not reading.usable:
        order = ctx.lab_order("Order a CBC with differential", ("order-cbc-differential",), "circulating blast count")
        return SafetyFinding("peripheral-blasts", "unknown", None, "No absolute circulating blast count before "
                             f"cycle 1 day 1: {reading.problem}. {rule}", suggestion=order)
    per_mm3 = convert(reading.value, reading.unit, "/mm3")
    shown = reading.line() + (f", i.e. {per_mm3:,.0f}/mm3" if per_mm3 is not None
                             and reading.recorded_unit.lower() != "/mm3" else "")
    if rounded(reading.value) > limit:
        return SafetyFinding("peripheral-blasts", "flagged", Severity.WARNING,
                             f"Circulating blasts above {num(limit)} × 10⁹/L before cycle 1 day 1: {shown}: "
                             f"recommend cytoreduction first. {rule}", (reading.reference,))
    return SafetyFinding("peripheral-blasts", "ok", None, f"{shown}: not above {num(limit)} × 10⁹/L. {rule}",
                         (reading.reference,))


# --------------------------------------------------------------------------- qt

def _qt_comedications(ctx: Context) -> list[tuple[str, str]]:
    value_set = ctx.knowledge.vs("qt-prolonging-drugs")
    candidates = [r for r in ctx.record.medication_requests if r.status == "active"] + \
                 [d for d in ctx.record.draft_orders if reference_of(d) != ctx.order_ref]
    found = []
    for request in candidates:
        concept, text = ctx.record.medication_concept(request), ctx.record.medication_text(request)
        if (concept is not None and value_set.matches(concept)) or value_set.matches_name(text):
            found.append((text or "unnamed medication", reference_of(request)))
    return found


def _qt(ctx: Context) -> SafetyFinding:
    value_set = ctx.knowledge.vs("qt-prolonging-drugs")
    unconfigured = "" if value_set.codes or value_set.names else (
        " The site's QT-prolonging drug list is not configured (value set qt-prolonging-drugs is empty): "
        "co-medications were not checked.")
    days, limit = ctx.knowledge.value("lookback-qtc-days"), float(ctx.knowledge.value("qtc-max-ms"))
    qtc = lab(ctx.record, ctx.knowledge, "qtc", "QTc", "ms", days)
    comeds = _qt_comedications(ctx)
    reasons = [f"active QT-prolonging co-medication: {', '.join(f'{n} ({r})' for n, r in comeds)}"] if comeds else []
    if qtc.usable and rounded(qtc.value) > limit:
        reasons.append(f"QTc above {num(limit)} ms (policy qtc-max-ms)")
    evidence = tuple(r for _, r in comeds) + ((qtc.reference,) if qtc.usable else ())
    rule = f"{ctx.text('safety-qt-rule')} {ctx.text('safety-qt-interaction')}"
    ecg = ctx.lab_order("Order a 12-lead ECG", ("order-ecg",), "ECG and electrolytes before treatment (label 5.5)")
    if reasons:
        return SafetyFinding("qt", "flagged", Severity.WARNING, f"QT risk: {'; '.join(reasons)}. {qtc.line()}. "
                             f"Recommend an ECG and electrolytes before this dose. {rule}{unconfigured}", evidence, ecg)
    if not qtc.usable:
        return SafetyFinding("qt", "unknown", None, f"No QTc within {days} days ({qtc.problem}): obtain an ECG and "
                             f"electrolytes. {rule}{unconfigured}", evidence, ecg)
    return SafetyFinding("qt", "ok", None, f"{qtc.line()}: not above {num(limit)} ms; no QT-prolonging "
                         f"co-medication found among active and draft orders.{unconfigured}", evidence)


# --------------------------------------------------------------------------- pregnancy

def _test_result(ctx: Context, observation) -> str | None:
    """'positive', 'negative', 'contradictory', or None when the result is not coded in a known way."""
    positive, negative = ctx.knowledge.vs("result-positive"), ctx.knowledge.vs("result-negative")
    concepts = [observation.valueCodeableConcept, *(observation.interpretation or ())]
    signals = {word for concept in concepts if concept is not None
               for word, vs in (("positive", positive), ("negative", negative)) if vs.matches(concept)}
    return "contradictory" if len(signals) > 1 else next(iter(signals), None)


def _in_age_band(ctx: Context) -> bool | None:
    """False only when every reading of a (possibly partial) birth date is outside the band."""
    birth = getattr(ctx.record.patient, "birthDate", None)
    bounds = age_in_years_bounds(birth, ctx.record.now.date()) if birth is not None else None
    if bounds is None:
        return None
    low, high = ctx.knowledge.value("reproductive-age-min-years"), ctx.knowledge.value("reproductive-age-max-years")
    return not (bounds[1] < low or bounds[0] > high)


def _pregnancy(ctx: Context) -> SafetyFinding:
    k = ctx.knowledge
    counselling = ctx.text("safety-counselling")
    gender = getattr(ctx.record.patient, "gender", None)
    if gender == "male":
        return SafetyFinding("pregnancy", "ok", None, f"Male patient: no pregnancy test. {counselling}")
    days = k.value("lookback-pregnancy-days")
    tests = results(ctx.record, ctx.knowledge, "pregnancy-test", ctx.record.now)
    latest = tests[0] if tests else None
    recent = latest if latest is not None and ctx.record.now - effective_time(latest) <= timedelta(days=days) else None
    result = _test_result(ctx, recent) if recent is not None else None
    named = (f"{reference_of(latest)} ({fmt_date(effective_time(latest))}, "
             f"{_test_result(ctx, latest) or 'result not coded'})") if latest is not None else "none on record"
    evidence = (reference_of(recent),) if recent is not None else ()
    order = ctx.lab_order("Order a pregnancy test", ("order-pregnancy-test",), "pregnancy status before the dose")
    if result == "positive":
        return SafetyFinding("pregnancy", "flagged", Severity.CRITICAL, f"Positive pregnancy test: {named}. "
                             f"{ctx.text('safety-pregnancy-risk')} {counselling}", evidence)
    band = f"{k.value('reproductive-age-min-years')}-{k.value('reproductive-age-max-years')} years"
    if gender != "female" and result != "negative":
        return SafetyFinding("pregnancy", "unknown", None, f"Sex recorded as '{gender or 'missing'}': reproductive "
                             f"potential cannot be determined; verify pregnancy status where applicable. Latest test: "
                             f"{named}. {counselling}", evidence, order)
    if gender == "female" and _in_age_band(ctx) is False:
        return SafetyFinding("pregnancy", "ok", None, f"Outside the reproductive age band ({band}, site policy): "
                             f"no pregnancy test required. {counselling}", evidence)
    if result == "negative":
        return SafetyFinding("pregnancy", "ok", None, f"Negative pregnancy test: {named}. {counselling}", evidence)
    why = {"contradictory": f"the latest test within {days} days is contradictory (value and interpretation "
                            f"disagree): {named}; repeat it",
           None: f"no readable pregnancy test within {days} days (latest: {named})"}[result]
    return SafetyFinding("pregnancy", "unknown", None, f"Pregnancy status unknown ({band}): {why}. "
                         f"{ctx.text('safety-pregnancy-testing')} {counselling}", evidence, order)


# --------------------------------------------------------------------------- treatment-course

def _course(ctx: Context) -> SafetyFinding:
    k, course, n = ctx.knowledge, ctx.course, ctx.cycle
    since = f" since {fmt_date(course.started)}" if course.started else ""
    where = (f"This dose is in cycle {n} ({'day 1' if ctx.day1 else 'within the cycle'}); {len(course.cycles)} "
             f"cycle(s) with doses on record{since}. Response: {course.response.detail}.")
    reasons = []
    if n > k.value("cycles-to-response") and course.response.status != "cr-cri":
        reasons.append(f"cycle {n} without CR/CRi on record. {ctx.text('safety-course-no-response')}")
    if n > k.value("max-cycles"):
        reasons.append(f"cycle {n} is beyond the maximum of {k.value('max-cycles')}. {ctx.text('safety-course-max')}")
    if ctx.transplants.planned and n > k.value("max-cycles-before-hsct"):
        reasons.append(f"cycle {n} with an HSCT planned. {ctx.text('safety-hsct-planned')}")
    undated = (f" {len(course.undated)} inotuzumab record(s) have no usable date ({', '.join(course.undated)}): "
               "the cycle count may be too low.") if course.undated else ""
    evidence = tuple(d.reference for d in course.doses) + course.response.evidence + \
        tuple(r for _, r in ctx.transplants.planned)
    if reasons:
        return SafetyFinding("treatment-course", "flagged", Severity.WARNING,
                             f"Course limit: {' '.join(reasons)} {where}{undated}", evidence)
    if course.undated:
        return SafetyFinding("treatment-course", "unknown", None, f"Cycle count uncertain:{undated} {where}", evidence)
    return SafetyFinding("treatment-course", "ok", None, f"Within the label's course limits. {where}", evidence)
