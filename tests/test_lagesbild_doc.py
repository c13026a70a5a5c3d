"""The lägesbild's files: document in both languages (real headless Chromium), the CSV
tables, the workbook, the PDF, and the public variant's rules.

Chromium (Debian package ``chromium``) is required: without it these tests FAIL.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from _cdp import Browser, find_chromium
from _lang import english_words, same_numbers, visible_text
from shapely import Point, box

from geo.errors import InputError
from geo.lagesbild import (
    ALL,
    DisclosureProtector,
    exact_p,
    lagesbild,
    parse_period,
)
from geo.lagesbild_doc import COUNTS_COLUMNS, FILES, render_lagesbild, write_lagesbild

X0, Y0 = 674_000.0, 6_580_000.0
SECRET = b"lagesbild-test-secret"
CATS = ["Skadegörelse", "Misshandel", "Klotter", "Stöld", "Rån"]
DAY = dt.date(2026, 12, 1)


def _scene() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """1,240 incidents over 24 months ending November 2026 at non-round positions, a
    cluster in area A that grows in November 2026, and 40 Polisen-like events."""
    rng = np.random.default_rng(42)
    n = 1200
    xy = np.vstack([rng.normal([X0 + 300, Y0 + 300], 120, (n // 2, 2)),
                    rng.uniform([X0 - 800, Y0 - 800], [X0 + 1800, Y0 + 1800], (n // 2, 2))])
    xy = xy + 0.123  # no incident on a round metre
    t = pd.Timestamp("2024-12-01T00:00+01:00") + pd.to_timedelta(
        rng.uniform(0, 729.9, n), unit="D")
    cats = rng.choice(CATS, n)
    # November 2026: 40 more in A, and 40 events known only by municipality
    xy_nov = rng.normal([X0 + 310, Y0 + 290], 30, (40, 2)) + 0.123
    t_nov = pd.Timestamp("2026-11-02T12:00+01:00") + pd.to_timedelta(
        rng.uniform(0, 27, 40), unit="D")
    frame = pd.DataFrame({
        "id": [f"I{i}" for i in range(n + 80)],
        "time": list(t) + list(t_nov) + list(t_nov),
        "category": list(cats) + ["Rån"] * 40 + ["Misshandel"] * 40,
        "precision": ["point"] * (n + 40) + ["municipality"] * 40,
    })
    pts = [Point(a, b) for a, b in np.vstack([xy, xy_nov, np.full((40, 2), [X0 + 500.5,
                                                                            Y0 + 500.5])])]
    inc = gpd.GeoDataFrame(frame, geometry=pts, crs=3006)
    inc["time"] = pd.to_datetime(inc["time"], utc=True)
    areas = gpd.GeoDataFrame({"id": ["A", "B"], "name": ["Centrum", "Hamnen"]},
                             geometry=[box(X0, Y0, X0 + 600, Y0 + 600),
                                       box(X0 + 600, Y0, X0 + 1400, Y0 + 600)], crs=3006)
    return inc, areas


@pytest.fixture(scope="module")
def scene():
    return _scene()


@pytest.fixture(scope="module")
def exact(scene):
    inc, areas = scene
    return lagesbild(inc, areas, period=parse_period("2026-11"))


@pytest.fixture(scope="module")
def public(scene):
    inc, areas = scene
    return lagesbild(inc, areas, period=parse_period("2026-11"),
                     protector=DisclosureProtector(SECRET))


@pytest.fixture(scope="module")
def texts(exact, tmp_path_factory):
    """The visible text of the Swedish and English documents, read in Chromium."""
    d = tmp_path_factory.mktemp("lb-doc")
    out = {}
    b = Browser(find_chromium(), width=1000, height=1400)
    try:
        for domain in ("Page", "Runtime", "Network"):
            b.call(f"{domain}.enable")
        b.call("Network.setBlockedURLs", urls=["http://*", "https://*"])
        for lang in ("sv", "en"):
            page = d / f"{lang}.html"
            page.write_text(render_lagesbild(exact, lang=lang, title="Exempelkommun",
                                             sources=["brott.geojson"], generated=DAY),
                            encoding="utf-8")
            b.open(page.resolve().as_uri(), ready="document.readyState === 'complete'")
            out[lang] = visible_text(b)
            out[lang + "_html"] = page.read_text(encoding="utf-8")
        urls = [e["params"]["request"]["url"] for e in b.events
                if e["method"] == "Network.requestWillBeSent"]
    finally:
        b.close()
    out["urls"] = urls
    return out


# --------------------------------------------------------------------------- language


def test_swedish_by_default_and_no_english_word_left(exact, texts):
    assert '<html lang="sv">' in render_lagesbild(exact, generated=DAY)
    assert '<html lang="sv">' in texts["sv_html"] and '<html lang="en">' in texts["en_html"]
    sv = texts["sv"]
    # "november" and "december" are Swedish too, written in lower case
    same = frozenset({"september", "november", "december"})
    assert english_words(sv, allow=same) == []
    assert not re.search(r"\b(September|November|December)\b", sv)
    for word in ("Lägesbild november 2026", "Sammanfattning", "Var", "Vad", "När",
                 "Jämfört med vad", "Analys", "Otrygghetsskapande händelser på offentlig plats",
                 "1 december 2026", "måndag", "söndag", "Hela underlaget",
                 "Ej för publicering"):
        assert word in sv, word
    assert "Situation picture November 2026: Exempelkommun" in texts["en"]
    # offline: nothing but the file itself was requested
    assert all(u.startswith("file:") for u in texts["urls"])


def test_both_languages_state_the_same_figures(texts):
    only_sv, only_en = same_numbers(texts["sv"], texts["en"])
    assert not only_sv and not only_en, (only_sv, only_en)


def test_swedish_and_english_number_formats():
    # 1,234 incidents in November 2026 and 617 in October: +100 %, p < 0.001
    times = ["2026-11-10T12:00Z"] * 1234 + ["2026-10-10T12:00Z"] * 617
    inc = gpd.GeoDataFrame({"id": [f"N{i}" for i in range(len(times))],
                            "time": pd.to_datetime(times, utc=True),
                            "category": "Stöld", "precision": "point"},
                           geometry=[Point(X0 + 50.5, Y0 + 50.5)] * len(times), crs=3006)
    r = lagesbild(inc, period=parse_period("2026-11"))
    sv = render_lagesbild(r, lang="sv", generated=DAY)
    en = render_lagesbild(r, lang="en", generated=DAY)
    assert "1\u00a0234 händelser under perioden" in sv and "1,234 incidents in the period" in en
    assert "+100\u00a0%" in sv and "+100%" in en
    assert "p &lt;\u00a00,001" in sv and "p &lt;\u00a00.001" in en
    assert "1 december 2026" in sv and "1 December 2026" in en


def test_the_document_says_when_a_change_is_within_chance(exact, texts):
    whole = exact.row()
    if whole["p_previous"] >= 0.05:
        assert "inom vad slumpen kan ge" in texts["sv"]
        assert "within what chance can give" in texts["en"]
    # area A grew by 40 in November: a significant change, named in the analysis
    a = exact.row("A")
    assert a["p_previous"] < 0.05
    assert "Alla kategorier i Centrum" in texts["sv"]


def test_municipality_events_named_in_the_whole_layer(exact, texts):
    prec = exact.counts[exact.counts["level"] == "precision"].set_index("category")
    assert prec.loc["municipality", "count"] == 40
    assert "är 40 kända bara till kommun" in texts["sv"].replace("\u00a0", " ")
    a = exact.row("A")
    whole = exact.row()
    assert a["count"] + exact.row("B")["count"] <= whole["count"] - 40


# --------------------------------------------------------------------------- files


def test_folder_files_tables_and_pdf(exact, tmp_path: Path):
    out = write_lagesbild(exact, tmp_path / "lb", title="Exempelkommun",
                          sources=["brott.geojson"], generated=DAY)
    assert set(out) == {"html", "pdf", "counts", "monthly", "monthly_detail", "xlsx"}
    assert (tmp_path / "lb" / FILES["pdf"]).read_bytes()[:5] == b"%PDF-"
    html = (tmp_path / "lb" / "lagesbild.html").read_text(encoding="utf-8")
    assert "<script src" not in html and "<link" not in html and "http" not in html
    counts = pd.read_csv(out["counts"], keep_default_na=False)
    assert tuple(counts.columns[:8]) == COUNTS_COLUMNS[:8]
    assert counts.columns.tolist() == list(COUNTS_COLUMNS)
    whole = counts[(counts["area_id"] == ALL) & (counts["category"] == ALL)
                   & (counts["level"] == "all")].iloc[0]
    assert int(whole["count"]) == int(exact.row()["count"])
    # p empty exactly where both counts are 0
    for ref in ("previous", "last_year"):
        both0 = (counts["count"].astype(int) == 0) & (counts[ref].astype(int) == 0)
        assert (counts.loc[both0, f"p_{ref}"] == "").all()
        assert (counts.loc[~both0, f"p_{ref}"] != "").all()
        got = counts.loc[~both0, f"p_{ref}"].astype(float).to_numpy()
        want = exact_p(counts.loc[~both0, "count"].astype(int),
                       counts.loc[~both0, ref].astype(int))
        assert np.allclose(got, want, rtol=1e-12)
    monthly = pd.read_csv(out["monthly"])
    assert monthly.columns[:3].tolist() == ["area_id", "month", "count"]
    series = monthly[(monthly["area_id"] == ALL) & (monthly["category"] == ALL)]
    assert series["month"].tolist() == pd.period_range("2024-12", "2026-11",
                                                       freq="M").astype(str).tolist()
    nov = series.set_index("month").loc["2026-11", "count"]
    assert nov == int(exact.row()["count"])
    # machine tables do not change with the language
    out_en = write_lagesbild(exact, tmp_path / "en", lang="en", pdf=False, generated=DAY)
    assert out_en["counts"].read_bytes() == out["counts"].read_bytes()
    assert "pdf" not in out_en
    # the workbook: one sheet per table, the same figures
    wb = openpyxl.load_workbook(out["xlsx"], read_only=True)
    assert {"counts", "monthly", "weekday_hour", "map_cells", "about"} <= set(wb.sheetnames)
    rows = list(wb["counts"].iter_rows(values_only=True))
    assert list(rows[0]) == list(COUNTS_COLUMNS) and len(rows) == len(counts) + 1
    assert [r[3] for r in rows[1:]] == counts["count"].astype(int).tolist()
    when = list(wb["weekday_hour"].iter_rows(values_only=True))
    assert when[0][0] == "weekday" and when[-1][-1] == int(exact.when["total"].iloc[-1])


def test_bad_out_folder_writes_nothing(exact, tmp_path: Path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(InputError, match="must be a folder"):
        write_lagesbild(exact, f, pdf=False)
    with pytest.raises(InputError, match="no such folder"):
        write_lagesbild(exact, tmp_path / "no" / "such", pdf=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


# --------------------------------------------------------------------------- public


def test_public_counts_are_protected(exact, public):
    ex = exact.counts.set_index(["area_id", "level", "category"])
    pub = public.counts.set_index(["area_id", "level", "category"])
    assert set(ex.index) == set(pub.index)
    pub = pub.loc[ex.index]  # rows are ordered by published counts
    for col in ("count", "previous", "last_year"):
        v = pub[col].to_numpy()
        assert not np.isin(v, [1, 2]).any()
        assert (np.abs(v - ex[col].to_numpy()) <= 3).all()
        assert ((ex[col].to_numpy() == 0) <= (v == 0)).all()
    # perturbation did change something (else this test proves nothing)
    assert (pub["count"] != ex["count"]).any()
    # p-values only from the published counts
    for ref in ("previous", "last_year"):
        want = exact_p(pub["count"], pub[ref])
        got = pub[f"p_{ref}"].to_numpy()
        assert np.allclose(np.nan_to_num(got, nan=-1), np.nan_to_num(want, nan=-1))
    assert not np.isin(public.monthly["count"], [1, 2]).any()
    hours = public.when.drop(columns=["weekday"]).to_numpy()
    assert not np.isin(hours, [1, 2]).any()
    # the table's cells are the counts table's weekday_hour rows: the same published values
    wh = public.counts[public.counts["level"] == "weekday_hour"]["count"].to_numpy()
    assert (wh == public.when[[f"h{h:02d}" for h in range(24)]].iloc[:7].to_numpy().ravel()).all()
    days = public.counts[public.counts["level"] == "weekday"]["count"].to_numpy()
    assert (days == public.when["total"].iloc[:7].to_numpy()).all()
    assert public.cells["density"].isna().all()


def test_public_values_are_consistent_across_documents(scene, public):
    inc, areas = scene
    # the same set of incidents publishes the same value: November in the period table
    # and in the monthly series; area A alone or beside B; A with a 6 x 6 m hole
    m = public.monthly
    nov = m[(m["area_id"] == "A") & (m["category"] == ALL) & (m["month"] == "2026-11")]
    assert int(nov["count"].iloc[0]) == int(public.row("A")["count"])
    holed = areas.iloc[[0]].copy()
    holed["geometry"] = [areas.geometry.iloc[0].difference(
        box(X0 + 303, Y0 + 303, X0 + 309, Y0 + 309))]
    other = lagesbild(inc, holed, period=parse_period("2026-11"),
                      protector=DisclosureProtector(SECRET))
    a1 = public.counts[public.counts["area_id"] == "A"].reset_index(drop=True)
    a2 = other.counts[other.counts["area_id"] == "A"].reset_index(drop=True)
    pd.testing.assert_frame_equal(a1, a2)


def test_public_files_hold_no_incident_coordinate(scene, public, tmp_path: Path):
    inc, _ = scene
    out = write_lagesbild(public, tmp_path / "pub", title="Exempelkommun", pdf=False,
                          generated=DAY)
    html = out["html"].read_text(encoding="utf-8")
    assert "Offentlig version" in html and "cellnyckelmetoden" in html
    assert "Ej för publicering" not in html
    # its method statement claims no comparison ring: the lägesbild has none
    assert "Jämförelseringen" not in html
    blobs = [html, out["counts"].read_text(), out["monthly"].read_text()]
    with zipfile.ZipFile(out["xlsx"]) as z:
        blobs += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
    text = "\n".join(blobs)
    xy = np.array([(g.x, g.y) for g in inc.geometry])
    for x, y in xy[:: 7]:
        for v in (x, y):
            for s in (repr(float(v)), f"{v:.1f}", f"{v:.2f}", f"{v:.3f}"):
                assert s not in text, s
    # every cell drawn or listed lies on the 100 m grid
    cells = public.cells
    assert ((cells["x"] % 100 == 0) & (cells["y"] % 100 == 0)).all()
    coords = [float(v) for v in re.findall(r"\b6[0-9]{5}\.[0-9]+", text)]
    assert all(abs(v - round(v / 100) * 100) < 1e-6 for v in coords)
