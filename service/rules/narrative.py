"""Reading one marker (CD22) from narrative immunophenotyping text, with care for negation.

Many laboratories report CD22 only inside a flow-cytometry narrative ("positive for CD19, CD22 and TdT;
negative for CD20"). The reader is deliberately conservative, because a false "positive" is the harmful error:

- the text is cut into clauses (``;``, sentence ends, new lines) and each mention of the marker is read alone;
- a sign attached to the marker (``CD22+``, ``CD22-``) or a result phrase right after it (``CD22 negative``,
  ``CD22 is not expressed``) decides first;
- otherwise the nearest governing phrase before it (``positive for CD19, CD22``, ``but not CD22``) and a result
  phrase closing a list after it (``CD19, CD22 and TdT positive``) are both read; if they disagree: uncertain;
- uncertain qualifiers (``dim``, ``partial``, ``+/-``), cytoplasmic CD22, a negator right after a positive
  reading (``CD22 was not seen``) or a mention without any result all give "uncertain", never positive;
- "not performed"/"pending" mentions give "not-reported" (no result, named on the card).

Every phrase list comes from the knowledge policy ``cd22-narrative-vocabulary`` (sites may replace it).
A percentage attached to the marker (``CD22 85%``, ``CD22 positive in 85% of blasts``) is returned for the
caller to compare with the site threshold; this module decides nothing clinical.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

POSITIVE, NEGATIVE, UNCERTAIN, NOT_REPORTED = "positive", "negative", "uncertain", "not-reported"
_CLAUSES = re.compile(r"[;\n\r|]+|\.(?=\s|$)")
_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*%")
# A bound before a percentage ("<1%", "less than 5 %") says how little, not that CD22 is expressed.
_BOUNDED = re.compile(r"(?:<|≤|=<|less\s+than|below|under|up\s+to|at\s+most)\s*$")
_WORDS = re.compile(r"[a-z0-9+/%.-]+")
_COPULA = r"(?:\s*expression)?(?:\s+(?:is|was|are|were))?"


@dataclass(frozen=True)
class Statement:
    """What one clause says about the marker."""

    result: str                 # positive | negative | uncertain | not-reported | "" (only a percentage)
    percent: float | None
    excerpt: str                # the clause, for the card
    reason: str | None = None   # why uncertain / not reported


@dataclass(frozen=True)
class _Phrase:
    start: int
    end: int
    polarity: str               # positive | negative
    before: bool                # governs what follows ("positive for ...") rather than what precedes


class Vocabulary:
    """The phrase lists, compiled once per knowledge value."""

    def __init__(self, raw: Mapping[str, list[str]]):
        def words(key: str) -> list[str]:
            return sorted((w.lower() for w in raw.get(key, ())), key=len, reverse=True)
        self.uncertain, self.not_reported = words("uncertain"), words("notReported")
        self.negators, self.ignore = words("negators"), words("ignore")
        self.cytoplasmic = set(words("cytoplasmicPrefixes"))
        table = [(w, POSITIVE, False) for w in words("positiveAfter")] + \
                [(w, NEGATIVE, False) for w in words("negativeAfter")] + \
                [(w, POSITIVE, True) for w in words("positiveBefore")] + \
                [(w, NEGATIVE, True) for w in words("negativeBefore")]
        table.sort(key=lambda item: len(item[0]), reverse=True)
        self.table = {w: (p, b) for w, p, b in table}
        self.phrases = re.compile(rf"(?<![a-z0-9])(?:{_alt([w for w, _, _ in table])})(?![a-z0-9])")
        # a result phrase right after the mention ("CD22 negative", "CD22 is not expressed"); governing
        # phrases ("not", "no") are left out: "CD22 not interpretable" must not read as negative
        results = _alt([w for w, _, before in table if not before])
        self.direct = re.compile(rf"[\s:\-(]*{_COPULA}\s*(?P<neg>(?:{_alt(self.negators)})\s+)?"
                                 rf"(?P<phrase>{results})(?![a-z0-9])")
        markers = "|".join(re.escape(w) for w in words("otherMarkers"))
        self.other_marker = re.compile(rf"(?<![a-z0-9])(?:[a-z]{{0,4}}cd\s?\d{{1,3}}[a-z]?|{markers or '(?!x)x'})"
                                       rf"(?![a-z0-9])")
        self.list_filler = re.compile(rf"^(?:[\s,/&+\-]|\band\b|\bor\b|{self.other_marker.pattern})*$")

    def phrase(self, match: re.Match) -> _Phrase:
        polarity, before = self.table[match.group(0)]
        return _Phrase(match.start(), match.end(), polarity, before)


def _alt(items: list[str]) -> str:
    return "|".join(re.escape(i) for i in items) or r"(?!x)x"


@lru_cache(maxsize=8)
def _vocabulary(key: tuple) -> Vocabulary:
    return Vocabulary({name: list(values) for name, values in key})


def vocabulary(raw: Mapping[str, list[str]]) -> Vocabulary:
    return _vocabulary(tuple(sorted((k, tuple(v)) for k, v in raw.items())))


def _normalise(text: str, vocab: Vocabulary) -> str:
    """Dashes and +/- spelled one way, non-results blanked; the case is kept for the excerpt on the card."""
    cleaned = re.sub(r"[\u2212\u2013\u2014]", "-", text).replace("\u00b1", "+/-")
    for phrase in vocab.ignore:
        cleaned = re.sub(re.escape(phrase), " ", cleaned, flags=re.IGNORECASE)
    return re.sub(r"[ \t]+", " ", cleaned)


def read_marker(text: str | None, marker_number: str, raw_vocabulary: Mapping[str, list[str]]) -> list[Statement]:
    """Every statement the text makes about ``CD<marker_number>``, in reading order."""
    if not text:
        return []
    vocab = vocabulary(raw_vocabulary)
    pattern = re.compile(rf"(?<![a-z0-9])(?P<prefix>[a-z]{{0,4}})cd[\s-]?{marker_number}(?![0-9])")
    statements = []
    for original in _CLAUSES.split(_normalise(text, vocab)):
        clause = original.lower()
        if len(clause) != len(original):
            original = clause   # a character whose lower case is longer: show the lower-cased text
        for mention in pattern.finditer(clause):
            prefix = mention.group("prefix")
            if prefix and prefix not in vocab.cytoplasmic and prefix not in ("s", "m"):
                continue  # another word that merely ends in "cd22"
            statement = _statement(clause, mention, prefix in vocab.cytoplasmic, vocab)
            statements.append(dataclasses.replace(statement, excerpt=original.strip()[:160]))
    return statements


def _segment_after(after: str, vocab: Vocabulary) -> str:
    """The raw text that belongs to this mention: up to the next marker or comma."""
    cut = len(after)
    for finder in (vocab.other_marker.search(after), re.search(r",", after)):
        if finder:
            cut = min(cut, finder.start())
    return after[:cut]


def _window_after(after: str, vocab: Vocabulary) -> str:
    """The words that belong to this mention, at most six."""
    return " ".join(_WORDS.findall(_segment_after(after, vocab))[:6])


def _has(words: list[str], text: str) -> str | None:
    for word in words:
        if re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text):
            return word
    return None


def _statement(clause: str, mention: re.Match, cytoplasmic: bool, vocab: Vocabulary) -> Statement:
    before, after = clause[:mention.start()], clause[mention.end():]
    excerpt = clause.strip()[:160]
    window = _window_after(after, vocab)
    near_before = " ".join(_WORDS.findall(before)[-2:])
    if cytoplasmic:
        return Statement(UNCERTAIN, None, excerpt, "cytoplasmic CD22 does not show surface expression")
    reported = _has(vocab.not_reported, window)
    if reported:
        return Statement(NOT_REPORTED, None, excerpt, f"'{reported}'")
    qualifier = _has(vocab.uncertain, window) or _has(vocab.uncertain, near_before) or (
        "qualified as +/-" if after.startswith("+/-") else None)
    if qualifier:
        return Statement(UNCERTAIN, None, excerpt, f"qualified as '{qualifier}'")
    segment = _segment_after(after, vocab)
    bound = _PERCENT.search(segment)
    if bound and _BOUNDED.search(segment[:bound.start()]):
        return Statement(UNCERTAIN, None, excerpt, "the percentage is only a bound (e.g. '<1%')")
    percent = _PERCENT.search(window)
    value = float(percent.group(1)) if percent else None
    polarity, reason = _polarity(before, after, vocab)
    if polarity == POSITIVE and _has(vocab.negators, _after_phrase(after, vocab, window)):
        return Statement(UNCERTAIN, value, excerpt, "a negation follows the mention")
    if polarity is None and value is None:
        return Statement(UNCERTAIN, None, excerpt, reason or "mentioned without a stated result")
    return Statement(polarity or "", value, excerpt, reason)


def _after_phrase(after: str, vocab: Vocabulary, window: str) -> str:
    """The window after the mention without the direct result phrase itself (so 'not expressed' is not re-read)."""
    direct = vocab.direct.match(after)
    return window if direct is None else " ".join(_WORDS.findall(after[direct.end():])[:4])


def _polarity(before: str, after: str, vocab: Vocabulary) -> tuple[str | None, str | None]:
    sign = re.match(r"(\+|-)(?![a-z0-9/])", after)
    if sign:
        return (POSITIVE if sign.group(1) == "+" else NEGATIVE), None
    direct = vocab.direct.match(after)
    if direct:
        polarity, _ = vocab.table[direct.group("phrase")]
        if direct.group("neg"):
            return (NEGATIVE, None) if polarity == POSITIVE else (None, "double negative")
        return polarity, None
    candidates = {p for p in (_governing(before, vocab), _closing(after, vocab)) if p}
    if len(candidates) == 2:
        return None, "the text around the mention states both results"
    return (candidates.pop() if candidates else None), None


def _governing(before: str, vocab: Vocabulary) -> str | None:
    """The polarity of the nearest phrase before the mention, if that phrase governs a following list."""
    phrases = [vocab.phrase(m) for m in vocab.phrases.finditer(before)]
    if not phrases or not phrases[-1].before:
        return None  # no phrase, or the nearest one closes an earlier marker ("CD20 negative, CD22")
    nearest = phrases[-1]
    negated = _has(vocab.negators, " ".join(_WORDS.findall(before[:nearest.start])[-1:]))
    if negated and nearest.polarity == POSITIVE:
        return NEGATIVE
    return None if negated else nearest.polarity


def _closing(after: str, vocab: Vocabulary) -> str | None:
    """The polarity of a result phrase that closes a marker list this mention belongs to ('CD22 and TdT positive')."""
    first = vocab.phrases.search(after)
    if first is None:
        return None
    phrase = vocab.phrase(first)
    if phrase.before or not vocab.list_filler.match(after[:phrase.start]):
        return None
    return phrase.polarity
