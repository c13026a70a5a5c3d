"""Documents a person reads or files: templates, language, locale formatting.

Every document tryggkarta writes (area report, maps, lägesbild, camera documentation,
evaluation) is a Jinja2 template shipped in the package (``geo/templates/``), rendered
by :func:`render` in one language: **Swedish by default**, English on request
(:func:`resolve_lang`: an explicit ``lang``, else ``TRYGGKARTA_LANG``, else ``sv``).

* Words go through gettext catalogues (``geo/locale/<lang>/LC_MESSAGES/<domain>.mo``,
  compiled from the ``.po`` files beside them with Babel; every domain's catalogue of a
  language is loaded, so each document family keeps its own ``.po``). In templates:
  ``{{ _("Summary") }}``, ``{% trans %}…{% endtrans %}``; in Python: :func:`gettext`.
  Message ids are English; the English catalogue may leave them untranslated.
* Numbers and dates go through Babel's locale data (:class:`Formatter`, also the
  template filters ``number``, ``decimal``, ``percent``, ``km2``, ``date``, ``month``,
  ``weekday``): ``sv_SE`` writes ``21 761`` (no-break space), ``0,034 km²``,
  ``1 december 2026``; ``en`` (``en_GB``) ``21,761``, ``0.034 km²``,
  ``1 December 2026``.
* Static files (``geo/static/``: print CSS, scripts) are read with
  :mod:`importlib.resources` (:func:`static_text`) and inlined, so a document is one
  self-contained file.
* The base template ``base.html`` gives ``<html lang="sv|en">``, the print CSS (A4,
  margins, page breaks), a header (title, subtitle) and a footer with the sources and
  the date; a document extends it and fills ``{% block content %}``.

Machine tables (``.csv``, ``.geojson``, ``.gpkg``, ``.parquet``) never pass through
here: they do not change with the language.

Examples
--------
>>> f = formatter("sv")
>>> f.number(21761), f.km2(0.0342), f.date(dt.date(2026, 12, 1))
('21\\xa0761', '0,034\\xa0km²', '1 december 2026')
>>> formatter("en").number(21761), formatter("en").date(dt.date(2026, 12, 1))
('21,761', '1 December 2026')
>>> gettext("Summary", lang="sv")
'Sammanfattning'
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import gettext as _gettext
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any, Final, Literal

import jinja2
from babel import Locale
from babel import dates as _bdates
from babel import numbers as _bnumbers
from markupsafe import Markup

from geo.errors import InputError
from geo.layers import NIGHT_HOURS

__all__ = [
    "LANGUAGES",
    "DEFAULT_LANG",
    "LOCALES",
    "LANG_ENV",
    "resolve_lang",
    "translations",
    "gettext",
    "ngettext",
    "Formatter",
    "formatter",
    "environment",
    "render",
    "static_text",
    "static_bytes",
    "data_uri",
    "night_hours_text",
    "N_",
    "COMMON_MESSAGES",
]

#: The languages documents are written in; the first is the default.
LANGUAGES: Final = ("sv", "en")
DEFAULT_LANG: Final = "sv"
#: Babel locale of each language.
LOCALES: Final[Mapping[str, str]] = {"sv": "sv_SE", "en": "en_GB"}
#: Environment variable naming the language when none is given.
LANG_ENV: Final = "TRYGGKARTA_LANG"

_PACKAGE: Final = "geo"
_LOCALE_DIR: Final = "locale"
#: Loaded first; other domains (one per document family) are searched after it.
_BASE_DOMAIN: Final = "tryggkarta"


def N_(message: str) -> str:
    """Mark ``message`` for the catalogues without translating it (translate later).

    Examples
    --------
    >>> N_("Summary")
    'Summary'
    """
    return message


#: Words every document family may use (the base catalogue holds their translations).
COMMON_MESSAGES: Final = (
    N_("Summary"), N_("Map"), N_("Legend"), N_("Method"), N_("Sources"), N_("Period"),
    N_("Incidents"), N_("Area"), N_("Areas"), N_("Total"), N_("Night"), N_("Date"),
    N_("Category"), N_("Month"), N_("Weekday"), N_("Hour"), N_("Count"), N_("Notes"),
    N_("local time"), N_("Coordinate reference system"), N_("Public version"),
    N_("Data, sources and method"), N_("All categories"), N_("not shown"),
)


def _mark_plurals() -> None:  # pragma: no cover - never called
    """Plural messages of the base catalogue, marked for extraction."""
    ngettext("%(num)d incident", "%(num)d incidents", 0)
    ngettext("%(num)d area", "%(num)d areas", 0)


def resolve_lang(lang: str | None = None) -> str:
    """The document language: ``lang``, else ``$TRYGGKARTA_LANG``, else ``sv``.

    Case and a region part are ignored (``sv_SE``, ``en-GB``, ``EN`` are accepted).

    Parameters
    ----------
    lang : str, optional
        ``sv`` or ``en``.

    Returns
    -------
    str
        ``"sv"`` or ``"en"``.

    Raises
    ------
    InputError
        A language that is not ``sv`` or ``en`` (the message names where it came from).

    Examples
    --------
    >>> resolve_lang("en"), resolve_lang("sv_SE"), resolve_lang("EN-gb")
    ('en', 'sv', 'en')
    """
    source = "--lang"
    if lang is None or str(lang).strip() == "":
        lang = os.environ.get(LANG_ENV, "").strip()
        source = LANG_ENV
        if not lang:
            return DEFAULT_LANG
    code = re.split(r"[-_.]", str(lang).strip().lower(), maxsplit=1)[0]
    if code not in LANGUAGES:
        raise InputError.single(source, f"unknown language {lang!r}: use one of "
                                + ", ".join(LANGUAGES))
    return code


def _locale_root() -> Any:
    return resources.files(_PACKAGE).joinpath(_LOCALE_DIR)


@functools.cache
def translations(lang: str, domain: str | None = None) -> _gettext.NullTranslations:
    """The gettext translations of ``lang``: every compiled domain of that language.

    ``domain`` (a document family's own catalogue, e.g. ``report``) is searched first,
    then the base domain ``tryggkarta``, then the others in name order, so the same
    English id may read differently in two families. A message no catalogue holds is
    returned unchanged (its English id).

    Parameters
    ----------
    lang : str
        ``sv`` or ``en``.
    domain : str, optional
        The catalogue to search first.

    Returns
    -------
    gettext.NullTranslations
    """
    code = resolve_lang(lang)
    folder = _locale_root().joinpath(code, "LC_MESSAGES")
    files: list[Any] = []
    first = f"{domain}.mo" if domain else None
    if folder.is_dir():
        files = sorted((f for f in folder.iterdir() if f.name.endswith(".mo")),
                       key=lambda f: (f.name != first, f.name != f"{_BASE_DOMAIN}.mo",
                                      f.name))
    if not files:
        return _gettext.NullTranslations()
    chain: _gettext.NullTranslations | None = None
    for f in files:
        with f.open("rb") as fh:
            t = _gettext.GNUTranslations(fh)
        if chain is None:
            chain = t
        else:
            chain.add_fallback(t)
    assert chain is not None
    return chain


def gettext(message: str, *, lang: str | None = None, domain: str | None = None) -> str:
    """``message`` (an English message id) in the document language.

    ``domain``: the document family's catalogue to search first (see
    :func:`translations`).

    Examples
    --------
    >>> gettext("Sources", lang="sv"), gettext("Sources", lang="en")
    ('Källor', 'Sources')
    """
    return translations(resolve_lang(lang), domain).gettext(message)


def ngettext(singular: str, plural: str, n: int, *, lang: str | None = None,
             domain: str | None = None) -> str:
    """The singular or plural form of a message for the count ``n``.

    Examples
    --------
    >>> ngettext("%(num)d incident", "%(num)d incidents", 2, lang="sv") % {"num": 2}
    '2 händelser'
    """
    return translations(resolve_lang(lang), domain).ngettext(singular, plural, n)


def _frac_pattern(pattern: str, digits: int) -> str:
    """A Babel number pattern with exactly ``digits`` fraction digits."""
    head = re.sub(r"\.[0#]+", "", pattern)
    if digits <= 0:
        return head
    # the last integer digit placeholder gets the fraction
    return re.sub(r"0(?=[^0#]*$)", "0." + "0" * digits, head, count=1)


class Formatter:
    """Numbers, percentages, areas, dates, months and weekdays in one locale.

    Every method returns ``–`` (an en dash) for a missing or non-finite value.

    Parameters
    ----------
    lang : str
        ``sv`` or ``en``.

    Examples
    --------
    >>> f = Formatter("sv")
    >>> f.decimal(2.5, 1), f.percent(0.345), f.percent(0.345, 1), f.number(-3)
    ('2,5', '34\\xa0%', '34,5\\xa0%', '−3')
    >>> f.month("2026-03"), f.weekday(0), f.weekdays()[6]
    ('mars 2026', 'måndag', 'söndag')
    >>> Formatter("en").percent(0.345), Formatter("en").month("2026-03")
    ('34%', 'March 2026')
    """

    MISSING: Final = "–"

    def __init__(self, lang: str) -> None:
        self.lang = resolve_lang(lang)
        self.locale = Locale.parse(LOCALES[self.lang])
        self._decimal = self.locale.decimal_formats[None].pattern
        self._percent = self.locale.percent_formats[None].pattern

    @staticmethod
    def _missing(value: Any) -> bool:
        if value is None:
            return True
        try:
            return not math.isfinite(float(value))
        except (TypeError, ValueError):
            return True

    def number(self, value: Any, digits: int = 0) -> str:
        """A number rounded to ``digits`` decimals, with the locale's grouping.

        Examples
        --------
        >>> Formatter("sv").number(1234567.891, 2), Formatter("en").number(1234567.891, 2)
        ('1\\xa0234\\xa0567,89', '1,234,567.89')
        """
        if self._missing(value):
            return self.MISSING
        v = round(float(value), digits)
        if v == 0:
            v = 0.0  # no "-0"
        text = _bnumbers.format_decimal(v, format=_frac_pattern(self._decimal, digits),
                                        locale=self.locale)
        return self._minus(text)

    def _minus(self, text: str) -> str:
        """The locale's minus sign (``−``, U+2212, in Swedish) for a leading ``-``."""
        sign = self.locale.number_symbols["latn"]["minusSign"]
        return sign + text[1:] if text.startswith("-") else text

    def decimal(self, value: Any, digits: int = 2) -> str:
        """A number with exactly ``digits`` decimals (same as :meth:`number`)."""
        return self.number(value, digits)

    def short(self, value: Any) -> str:
        """A number as stored, without trailing zeros (up to 6 decimals).

        Values under 0.0001 (e.g. tiny p-values) keep two significant digits.

        Examples
        --------
        >>> f = Formatter("sv")
        >>> f.short(7.5), f.short(21761), f.short(0.0123), f.short(3.2e-07)
        ('7,5', '21\\xa0761', '0,0123', '0,00000032')
        """
        if self._missing(value):
            return self.MISSING
        v = float(value)
        if v != 0 and abs(v) < 1e-4:
            return self.significant(v, 2)
        return self._minus(_bnumbers.format_decimal(v, format="#,##0.######",
                                                    locale=self.locale))

    def significant(self, value: Any, digits: int = 3) -> str:
        """A number with about ``digits`` significant digits (large numbers whole).

        Examples
        --------
        >>> Formatter("sv").significant(0.0012345), Formatter("sv").significant(12345.6)
        ('0,00123', '12\\xa0346')
        """
        if self._missing(value):
            return self.MISSING
        v = float(value)
        if v == 0:
            return self.number(0)
        d = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
        return self.number(v, d)

    def percent(self, share: Any, digits: int = 0) -> str:
        """A share (0–1) as a percentage.

        Examples
        --------
        >>> Formatter("sv").percent(0.5), Formatter("en").percent(0.5)
        ('50\\xa0%', '50%')
        """
        if self._missing(share):
            return self.MISSING
        v = round(float(share) * 100, digits) / 100
        return _bnumbers.format_percent(v, format=_frac_pattern(self._percent, digits),
                                        locale=self.locale)

    def signed_percent(self, share: Any, digits: int = 1) -> str:
        """A change as a percentage with its sign (``+3,5 %``, ``−2,0 %``)."""
        if self._missing(share):
            return self.MISSING
        text = self.percent(abs(float(share)), digits)
        zero = round(abs(float(share)) * 100, digits) == 0
        sign = "±" if zero else ("+" if float(share) > 0 else
                                 self.locale.number_symbols["latn"]["minusSign"])
        return sign + text

    def km2(self, value: Any, digits: int = 3) -> str:
        """An area in km² (``0,034 km²``)."""
        if self._missing(value):
            return self.MISSING
        return self.number(value, digits) + "\u00a0km²"

    def metres(self, value: Any, digits: int = 0) -> str:
        """A length in metres (``250 m``)."""
        if self._missing(value):
            return self.MISSING
        return self.number(value, digits) + "\u00a0m"

    def p_value(self, p: Any) -> str:
        """A p-value: three decimals, ``< 0,001`` below that."""
        if self._missing(p):
            return self.MISSING
        if float(p) < 0.001:
            return "<\u00a0" + self.number(0.001, 3)
        return self.number(p, 3)

    def date(self, value: dt.date | dt.datetime | str | None, format: str = "long") -> str:
        """A date the locale's way (``long``: ``1 december 2026``; ``short``: ISO-like).

        Parameters
        ----------
        value : date, datetime or ISO 8601 string
        format : str
            ``long``, ``medium``, ``short`` or a Babel pattern.
        """
        if value is None or value == "":
            return self.MISSING
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        if isinstance(value, dt.datetime):
            value = value.date()
        return _bdates.format_date(value, format=format, locale=self.locale)

    def datetime(self, value: dt.datetime, format: str = "d MMMM y HH:mm") -> str:
        """A local date and time (``1 december 2026 22:10``)."""
        return _bdates.format_datetime(value, format=format, locale=self.locale)

    def month(self, value: str | dt.date) -> str:
        """A calendar month (``YYYY-MM`` or a date): ``december 2026``."""
        if isinstance(value, str):
            value = dt.date(int(value[:4]), int(value[5:7]), 1)
        return _bdates.format_date(value, format="LLLL y", locale=self.locale)

    def month_short(self, value: str | dt.date) -> str:
        """A month in short form for table headers: ``dec. 2026`` / ``Dec 2026``."""
        if isinstance(value, str):
            value = dt.date(int(value[:4]), int(value[5:7]), 1)
        return _bdates.format_date(value, format="LLL y", locale=self.locale)

    def weekday(self, index: int,
                width: Literal["abbreviated", "narrow", "short", "wide"] = "wide") -> str:
        """Weekday name, 0 = Monday (``måndag``; ``abbreviated``: ``mån``)."""
        return str(_bdates.get_day_names(width, locale=self.locale)[int(index)])

    def weekdays(self, width: Literal["abbreviated", "narrow", "short", "wide"] = "wide",
                 ) -> list[str]:
        """The seven weekday names, Monday first."""
        return [self.weekday(i, width) for i in range(7)]

    def hour_range(self, start: int, end: int) -> str:
        """Whole local hours as a clock range: ``22:00–06:00``."""
        return f"{int(start) % 24:02d}:00–{int(end) % 24:02d}:00"

    def list(self, items: Iterable[str]) -> str:
        """A list in the locale's words: ``a, b och c`` / ``a, b and c``."""
        from babel.lists import format_list

        return format_list(list(items), locale=self.locale)


@functools.cache
def formatter(lang: str | None = None) -> Formatter:
    """The :class:`Formatter` of a language (cached)."""
    return Formatter(resolve_lang(lang))


def night_hours_text() -> str:
    """Night as a clock range, from :data:`geo.layers.NIGHT_HOURS`: ``22:00–06:00``.

    The one wording of night in every document (local hours 22, 23, 0, …, 5).

    Examples
    --------
    >>> night_hours_text()
    '22:00–06:00'
    """
    hours = list(NIGHT_HOURS)
    return f"{hours[0]:02d}:00–{(hours[-1] + 1) % 24:02d}:00"


# --------------------------------------------------------------------------- static files


def static_bytes(name: str) -> bytes:
    """A file of ``geo/static/`` (``name`` may contain ``/``)."""
    node = resources.files(_PACKAGE).joinpath("static")
    for part in name.split("/"):
        node = node.joinpath(part)
    return node.read_bytes()


def static_text(name: str) -> str:
    """A text file of ``geo/static/`` (UTF-8), e.g. ``document.css``.

    Examples
    --------
    >>> "@page" in static_text("document.css")
    True
    """
    return static_bytes(name).decode("utf-8")


def data_uri(name: str, mime: str) -> str:
    """A file of ``geo/static/`` as a ``data:`` URI (for images inside a document)."""
    return f"data:{mime};base64," + base64.b64encode(static_bytes(name)).decode("ascii")


# --------------------------------------------------------------------------- Jinja2


def _filters(fmt: Formatter) -> dict[str, Callable[..., Any]]:
    return {
        "number": fmt.number,
        "decimal": fmt.decimal,
        "significant": fmt.significant,
        "short": fmt.short,
        "percent": fmt.percent,
        "signed_percent": fmt.signed_percent,
        "km2": fmt.km2,
        "metres": fmt.metres,
        "p_value": fmt.p_value,
        "date": fmt.date,
        "month": fmt.month,
        "month_short": fmt.month_short,
        "weekday": fmt.weekday,
        "hour_range": fmt.hour_range,
        "join_list": fmt.list,
    }


def _inline_static(name: str) -> Markup:
    """A static text file for inlining in ``<style>`` / ``<script>`` (template global)."""
    text = static_text(name)
    low = text.lower()
    if "</script" in low or "</style" in low:  # pragma: no cover - a broken asset
        raise RuntimeError(f"geo/static/{name} cannot be inlined as is")
    return Markup(text)


@functools.cache
def environment(lang: str | None = None, domain: str | None = None) -> jinja2.Environment:
    """The Jinja2 environment of a language: templates, messages, formatting filters.

    Loads templates from ``geo/templates/`` (package resources), escapes HTML, and
    installs the gettext catalogues (``_``, ``gettext``, ``ngettext``, ``pgettext``,
    ``{% trans %}``) and the :class:`Formatter` filters. Globals: ``lang``, ``fmt``
    (the formatter), ``static`` (a static file's text, for inlining), ``data_uri``,
    ``night`` (``22:00–06:00``).

    Parameters
    ----------
    lang : str, optional
        ``sv`` or ``en`` (default :func:`resolve_lang`).
    domain : str, optional
        The catalogue searched first (see :func:`translations`).

    Returns
    -------
    jinja2.Environment
    """
    code = resolve_lang(lang)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(_PACKAGE, "templates"),
        autoescape=jinja2.select_autoescape(("html", "htm", "xml", "svg", "j2")),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_translations(translations(code, domain),  # type: ignore[attr-defined]
                                     newstyle=True)
    fmt = formatter(code)
    env.filters.update(_filters(fmt))
    env.globals.update(lang=code, fmt=fmt, static=_inline_static, data_uri=data_uri,
                       night=night_hours_text())
    return env


def render(template: str, *, lang: str | None = None, domain: str | None = None,
           **context: Any) -> str:
    """Render a document template of ``geo/templates/`` in one language.

    Parameters
    ----------
    template : str
        The template's name, e.g. ``"report/area.html"``.
    lang : str, optional
        ``sv`` or ``en``; default ``$TRYGGKARTA_LANG`` or ``sv``.
    domain : str, optional
        The catalogue searched first; default the template's folder (``report`` for
        ``report/area.html``), so each family's own wording wins.
    **context
        The template's variables. The base template reads ``title``, and optionally
        ``subtitle``, ``sources`` (list of str), ``generated`` (a date), ``footer_note``.

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> page = render("base.html", lang="sv", title="Prov", sources=["Polisen"],
    ...               generated=dt.date(2026, 12, 1))
    >>> '<html lang="sv">' in page, "1 december 2026" in page, "Källor" in page
    (True, True, True)
    """
    if domain is None and "/" in template:
        domain = template.split("/", 1)[0]
    return environment(lang, domain).get_template(template).render(**context)

