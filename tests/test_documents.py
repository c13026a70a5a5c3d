"""Document infrastructure: language, locale formatting, catalogues, templates, Chromium.

Rendering to PDF and PNG uses the real headless Chromium (Debian package ``chromium``):
without it these tests FAIL, they do not skip.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import gettext
import struct
import sys
import tomllib
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from geo import chromium, documents
from geo.documents import Formatter, formatter, render, resolve_lang
from geo.errors import AnalysisError, InputError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lang import english_words, numbers, same_numbers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GEO = ROOT / "geo"
LOCALE = GEO / "locale"
NBSP = "\u00a0"


# --------------------------------------------------------------------------- language


def test_lang_resolution_order(monkeypatch):
    monkeypatch.delenv("TRYGGKARTA_LANG", raising=False)
    assert resolve_lang(None) == "sv"  # the default
    monkeypatch.setenv("TRYGGKARTA_LANG", "en")
    assert resolve_lang(None) == "en"  # the environment
    assert resolve_lang("sv") == "sv"  # an explicit choice wins
    assert resolve_lang("EN_gb") == "en"
    monkeypatch.setenv("TRYGGKARTA_LANG", "")
    assert resolve_lang(None) == "sv"


@pytest.mark.parametrize("bad, source", [("de", "--lang"), ("svenska", "--lang")])
def test_unknown_language_is_an_input_error(bad, source):
    with pytest.raises(InputError) as e:
        resolve_lang(bad)
    assert source in str(e.value) and repr(bad) in str(e.value) and "sv, en" in str(e.value)


def test_unknown_language_from_the_environment_names_it(monkeypatch):
    monkeypatch.setenv("TRYGGKARTA_LANG", "fr")
    with pytest.raises(InputError, match="TRYGGKARTA_LANG"):
        resolve_lang(None)


# --------------------------------------------------------------------------- formatting


def test_swedish_formatting():
    f = formatter("sv")
    assert f.number(21761) == f"21{NBSP}761"
    assert f.number(1234567.891, 2) == f"1{NBSP}234{NBSP}567,89"
    assert f.km2(0.0342) == f"0,034{NBSP}km²"
    assert f.date(dt.date(2026, 12, 1)) == "1 december 2026"
    assert f.date("2026-06-05") == "5 juni 2026"
    assert f.month("2026-03") == "mars 2026"
    assert f.percent(0.345) == f"34{NBSP}%" and f.percent(0.345, 1) == f"34,5{NBSP}%"
    assert f.number(-3.26, 1) == "−3,3"  # the Swedish minus sign (U+2212)
    assert f.p_value(0.0004) == f"<{NBSP}0,001" and f.p_value(0.0123) == "0,012"
    assert f.weekdays() == ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag",
                            "söndag"]
    assert f.list(["a", "b", "c"]) == "a, b och c"
    assert f.number(float("nan")) == "–" and f.number(None) == "–"
    assert f.number(-0.0001, 2) == "0,00"  # no negative zero


def test_english_formatting():
    f = formatter("en")
    assert f.number(21761) == "21,761"
    assert f.km2(0.0342) == f"0.034{NBSP}km²"
    assert f.date(dt.date(2026, 12, 1)) == "1 December 2026"
    assert f.percent(0.345) == "34%"
    assert f.weekday(6) == "Sunday"


def test_night_is_worded_once():
    # the contract's night: local hours 22, 23, 0, ..., 5
    assert documents.night_hours_text() == "22:00–06:00"
    assert Formatter("sv").hour_range(22, 6) == "22:00–06:00"


# --------------------------------------------------------------------------- catalogues


def _domains() -> list[str]:
    return sorted(p.stem for p in LOCALE.glob("*.cfg"))


def _po(lang: str, domain: str):
    with open(LOCALE / lang / "LC_MESSAGES" / f"{domain}.po", "rb") as fh:
        return read_po(fh)


def _extracted(domain: str) -> set[str]:
    with open(LOCALE / f"{domain}.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    out = set()
    for _file, _line, msg, _comments, _ctx in extract_from_dir(
            str(ROOT), method_map, options_map):
        out.add(msg if isinstance(msg, str) else msg[0])
    return out


def test_there_is_a_base_catalogue():
    assert "tryggkarta" in _domains()


@pytest.mark.parametrize("domain", _domains())
def test_every_message_is_in_the_catalogues_and_translated_to_swedish(domain):
    """Fails when a message was added to a template or module without `make messages`
    and a Swedish translation."""
    used = _extracted(domain)
    assert used, f"no message extracted for {domain}"
    sv = {m.id if isinstance(m.id, str) else m.id[0]: m for m in _po("sv", domain) if m.id}
    en = {m.id if isinstance(m.id, str) else m.id[0] for m in _po("en", domain) if m.id}
    assert not sorted(used - set(sv)), "run `make messages`: missing from the sv catalogue"
    assert not sorted(used - en), "run `make messages`: missing from the en catalogue"
    untranslated = [k for k in used
                    if not (sv[k].string if isinstance(sv[k].string, str)
                            else all(sv[k].string)) or sv[k].fuzzy]
    assert not sorted(untranslated), "Swedish translation missing or fuzzy"


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("domain", _domains())
def test_compiled_catalogues_match_their_po_files(lang, domain):
    """The .mo that ships is compiled from the current .po (`make messages` compiles)."""
    mo = LOCALE / lang / "LC_MESSAGES" / f"{domain}.mo"
    assert mo.is_file(), f"{mo} missing: run `make messages`"
    with open(mo, "rb") as fh:
        compiled = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    for m in _po(lang, domain):
        if not m.id or m.fuzzy:
            continue
        if isinstance(m.id, str):
            if m.string:
                assert compiled.get(m.id) == m.string, (mo, m.id)
        else:
            for i, s in enumerate(m.string):
                if s:
                    assert compiled.get((m.id[0], i)) == s, (mo, m.id, i)


def test_package_data_ships_every_template_static_file_and_catalogue():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = conf["tool"]["setuptools"]["package-data"]["geo"]
    deps = " ".join(conf["project"]["dependencies"]).lower()
    assert "jinja2" in deps and "babel" in deps
    files = [p for d in ("templates", "static", "locale", "vendor") for p in (GEO / d).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    assert any(p.suffix == ".mo" for p in files)
    unshipped = [str(p.relative_to(GEO)) for p in files
                 if not any(fnmatch.fnmatch(str(p.relative_to(GEO)), pat) and
                            str(p.relative_to(GEO)).count("/") == pat.count("/")
                            for pat in patterns)]
    assert not unshipped, f"not in [tool.setuptools.package-data] geo: {unshipped}"


# --------------------------------------------------------------------------- templates


def _sample(lang: str) -> str:
    return render("base.html", lang=lang, title="tryggkarta", sources=["Polisen"],
                  generated=dt.date(2026, 12, 1), public=True)


def test_base_template_in_both_languages():
    sv, en = _sample("sv"), _sample("en")
    assert '<html lang="sv">' in sv and '<html lang="en">' in en
    assert "Källor:" in sv and "1 december 2026" in sv and "Offentlig version" in sv
    assert "Sources:" in en and "1 December 2026" in en and "Public version" in en
    assert "<link" not in sv and "<script src" not in sv  # self-contained
    assert "@page" in sv  # the print CSS is inlined


def test_language_helpers_catch_english_and_compare_figures():
    assert english_words("Källor: Polisen. Framtaget med tryggkarta") == []
    assert english_words("Sammanfattning · Incidents per km²") == ["incidents"]
    only_sv, only_en = same_numbers(f"21{NBSP}761 händelser på 0,034 km²",
                                    "21,761 incidents on 0.034 km²")
    assert not only_sv and not only_en
    only_sv, only_en = same_numbers("21 761", "21,761")  # a plain space does not group
    assert only_sv and only_en
    assert numbers("22:00–06:00", "sv") == numbers("22:00–06:00", "en")


def test_template_escapes_its_context():
    page = render("base.html", lang="sv", title="<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


# --------------------------------------------------------------------------- Chromium


def test_find_chromium_without_one_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("TRYGGKARTA_CHROMIUM", str(tmp_path / "nothing"))
    monkeypatch.setattr(chromium, "_CANDIDATES", ("chromium",))
    with pytest.raises(AnalysisError, match="chromium"):
        chromium.find_chromium()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    return w, h


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_documents_print_to_pdf_and_png_in_chromium(tmp_path, lang):
    html = tmp_path / "doc.html"
    html.write_text(_sample(lang), encoding="utf-8")
    pdf = chromium.html_to_pdf(html, tmp_path / "doc.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and b"/Type /Page" in data.replace(b"/Type/Page",
                                                                        b"/Type /Page")
    png = chromium.html_to_png(html, tmp_path / "doc.png", size=(800, 600))
    assert _png_size(png.read_bytes()) == (800, 600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.html", "doc.pdf", "doc.png"]


def test_printing_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        chromium.html_to_pdf(tmp_path / "none.html", tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize("command", [
    ["map", "--incidents", "{inc}", "--out", "{out}/m.html"],
    ["report-area", "--incidents", "{inc}", "--areas", "{inc}", "--area", "A",
     "--out", "{out}/r.html"],
    ["evaluate", "--incidents", "{inc}", "--treated", "{inc}", "--start", "2025-01-01",
     "--out", "{out}/e.csv"],
    ["camera-docs", "--cameras", "{inc}", "--out", "{out}/docs"],
    ["lagesbild", "--incidents", "{inc}", "--period", "2026-11", "--out", "{out}/lb"],
])
def test_every_document_command_refuses_an_unknown_language_alike(tmp_path, capsys, command):
    # one rule (api.service.common.parse_lang): a bad option value, exit 2, the same
    # message, said before any input is read (the input here does not even exist)
    from api.cli import app
    from api.cli._common import run_app

    out = tmp_path / "out"
    out.mkdir()
    argv = [a.format(inc=tmp_path / "missing.csv", out=out) for a in command]
    assert run_app(app, [*argv, "--lang", "de"]) == 2
    err = capsys.readouterr().err
    assert "--lang de: one of sv, en expected" in err and "missing.csv" not in err
    assert list(out.iterdir()) == []
