"""Small text helpers shared along the pipeline: matching normalisation, stop words, names and numbers."""

from __future__ import annotations

import re

__all__ = ["STOPWORDS", "abbreviated", "content_words", "mentions", "names_and_numbers", "normalise", "translate"]

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2026": "...",
    }
)  # fmt: skip


def translate(s: str) -> str:
    """Curly quotes to straight, dashes to "-", odd spaces to " "."""
    return s.translate(_TRANSLATE)


def normalise(s: str) -> str:
    """Lower case, plain quotes and dashes, single spaces: the form quotes are matched in."""
    return re.sub(r"\s+", " ", translate(s).lower()).strip()


def mentions(haystack: str, term: str, *, abbreviation: bool = False) -> bool:
    """Whether ``term`` stands in ``haystack`` (both normalised, thousands separators removed) as a
    whole: a number not inside another ("2000" is not in "20000", "14" not in "2014", "5" not in
    "1.5"), a word not inside another ("gore" is not in "gorelick"; "senator" is in "senators'").
    A substring test would let an answer's figure or name pass on another one's letters. An
    ``abbreviation`` (a word written with a full stop: "Sen.", "Gov.") needs only to start a word."""
    if term not in haystack:  # cheap first: a regex scan of a 600,000-character article takes ~20 ms
        return False
    if not term[:1].isdigit():
        # A word as a whole word, or with a plural or possessive ending: "Gore" is not in "Gorelick".
        end = "" if abbreviation else "(?:'?s|es)?(?![a-z0-9])"
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}{end}", haystack) is not None
    return re.search(rf"(?<!\d)(?<!\d\.){re.escape(term)}(?!\.?\d)", haystack) is not None


def abbreviated(text: str, word: str) -> bool:
    """Whether ``word`` is written with a full stop after it in ``text`` ("Sen. Grassley"): then it may
    stand for a longer word of the article ("Senator"). A sentence's last word counts too: leniency there
    costs little."""
    return re.search(rf"(?<![\w.]){re.escape(word.rstrip('.'))}\.", text) is not None


# Function words: ignored when ranking chunks and when checking an answer's names against its evidence.
STOPWORDS = frozenset(
    """a an the and or but of in on at to for from by with as is are was were be been being it its this that
    these those he she they we you i his her their our my yes no not none also than then there here who whom
    what when where why how which did does do has have had will would can could should may might into over
    about after before said says according mr mrs ms dr""".split()
)


_QUESTION_WORDS = frozenset(
    "who whom whose what which when where why how many much did does do was were is are".split()
)


def content_words(text: str) -> set[str]:
    """Content words (5-letter stems) and numbers (without separators) of ``text``."""
    out: set[str] = set()
    for w in re.findall(r"[a-z0-9][a-z0-9,.'-]*[a-z0-9]|[a-z0-9]", normalise(text)):
        w = w.replace(",", "")
        if w[0].isdigit():
            out.add(w)
        elif len(w) > 2 and w not in STOPWORDS and w not in _QUESTION_WORDS:
            out.add(w.split("'")[0][:5])
    return out


# Words English capitalises only because a sentence starts with them: function words and common
# sentence adverbs. At the start of a sentence case says nothing, so these are not taken for names.
_OPENERS = frozenset(
    """about above across after against ago all almost along also although always among amid another any
    anyone anything approximately around as at because before behind below besides between beyond both but
    by despite did do does down during each earlier either else even every everyone everything except few
    fewer finally first following for from further furthermore had has have he her here hers him his how
    however i if in including indeed inside instead into is it its just last later least less like many
    meanwhile more moreover most mostly much my nearly neither never nevertheless next no nobody none nor
    not nothing now of off often on once one only onto or other others otherwise our out outside over
    overall per perhaps previously rather recently reportedly roughly second several she since so some
    someone something soon still such than that the their theirs them then there therefore these they this
    those though through throughout thus to today together tomorrow too toward towards under unless unlike
    until up upon us usually very via was we were what whatever when whenever where whereas whether which
    while who whom whose why with within without yes yesterday yet you your
    one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred
    thousand million billion dozens hundreds thousands millions""".split()
)
_NAME_OR_NUMBER = re.compile(r"(?:https?://|www\.)\S+|\b(?:\d[\d,.]*\d|\d)\b|\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")
# What may stand between the end of one sentence (or a quotation's start) and the next word.
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]['\"”’)\]]*|[\"“‘(\[]|\n)\s*$")


def names_and_numbers(text: str) -> list[str]:
    """Names (runs of capitalised words), numbers and URLs in ``text``, in order.

    A capitalised word that opens a sentence is a name only if it is not a common opener ("Because",
    "Roughly", "Some"): its capital comes from its place, not from being a name.
    """
    out: list[str] = []
    for m in _NAME_OR_NUMBER.finditer(text):
        term = m.group(0)
        if term[:1].isupper() and _SENTENCE_START.search(text, 0, m.start()) is not None:
            first, _, rest = term.partition(" ")
            if first.lower().rstrip(".") in _OPENERS:
                term = rest.strip()
        if term:
            out.append(term)
    return out
