"""Helpers for the language tests of every document (area report, maps, lägesbild, ...).

* :data:`ENGLISH_UI_WORDS`: English interface words that must not be left in a Swedish
  document (words that are Swedish too, such as "area", "trend", "data", "period",
  "total", "ring" or "per", are not in it).
* :func:`english_words`: which of them a text contains (whole words, any case).
* :func:`numbers`: every number a text states, as floats, after undoing the locale's
  formatting (Swedish ``21 761`` with a no-break space and ``0,034``; English ``21,761``
  and ``0.034``), so that a Swedish and an English document can be compared figure by
  figure.
* :func:`visible_text`: the text a reader sees (``innerText``) of the page open in a
  :class:`_cdp.Browser`, with Leaflet controls and popups opened by the test included.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

__all__ = ["ENGLISH_UI_WORDS", "english_words", "where", "numbers", "visible_text",
           "same_numbers"]

ENGLISH_UI_WORDS = frozenset("""
the and of with from for which when where than not none only also this that these those
is are was were be been has have each every any
incident incidents summary category categories month months weekday weekdays hour hours
monday tuesday wednesday thursday friday saturday sunday
january february march may june july august october
night share density surroundings recommended deployment patrol stops stop round rounds
walk walking sources source method legend coverage camera cameras site sites selected
building buildings layer layers score rank sensitive places place shown hidden fewer
value measure map report date generated public review existing candidate
identify recognize recognise observe detect visible level levels yes no
areas cells clustered cluster weight weights weighted cumulative cost
police application permit local time south west north east corner arrive after stay
""".split())

_WORD = re.compile(r"[A-Za-zÅÄÖåäöÉé]+")


def english_words(text: str, *, allow: frozenset[str] = frozenset()) -> list[str]:
    """The English interface words of ``text`` (sorted, unique), except ``allow``."""
    words = {w.lower() for w in _WORD.findall(text)}
    return sorted((words & ENGLISH_UI_WORDS) - {a.lower() for a in allow})


_SV_NUMBER = re.compile(r"(?<![\w,.])[-−]?\d{1,3}(?:[\u00a0\u202f\u2009]\d{3})+(?:,\d+)?"
                        r"|(?<![\w,.])[-−]?\d+(?:,\d+)?")
_EN_NUMBER = re.compile(r"(?<![\w,.])[-−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
                        r"|(?<![\w,.])[-−]?\d+(?:\.\d+)?")


def where(text: str, words: list[str], width: int = 60) -> dict[str, str]:
    """The first place each word occurs in ``text`` (for failure messages)."""
    out = {}
    for w in words:
        m = re.search(rf"(?<![A-Za-zÅÄÖåäöÉé]){re.escape(w)}(?![A-Za-zÅÄÖåäöÉé])", text, re.I)
        if m:
            out[w] = text[max(0, m.start() - width):m.end() + width]
    return out


def numbers(text: str, lang: str) -> list[float]:
    """Every number stated in ``text`` written the ``lang`` way, in order of appearance.

    Examples
    --------
    >>> numbers("21\u00a0761 händelser, 0,034 km², −3,5 %", "sv")
    [21761.0, 0.034, -3.5]
    >>> numbers("21,761 incidents, 0.034 km², -3.5%", "en")
    [21761.0, 0.034, -3.5]
    """
    pattern = _SV_NUMBER if lang == "sv" else _EN_NUMBER
    out = []
    for m in pattern.finditer(text):
        s = m.group(0).replace("−", "-")
        if lang == "sv":
            s = re.sub(r"[\u00a0\u202f\u2009]", "", s).replace(",", ".")
        else:
            s = s.replace(",", "")
        out.append(float(s))
    return out


def same_numbers(sv_text: str, en_text: str) -> tuple[Counter[float], Counter[float]]:
    """The numbers only the Swedish and only the English text state (both empty = same).

    Compared as multisets, so a different word order does not matter.
    """
    a = Counter(numbers(sv_text, "sv"))
    b = Counter(numbers(en_text, "en"))
    return a - b, b - a


def visible_text(browser: Any) -> str:
    """``document.body.innerText`` of the page open in ``browser``."""
    return str(browser.evaluate("document.body.innerText"))
