"""Before/after evaluation (geo.evaluation): counts and figures you can check by hand.

Scene: treated area A = the 100 m square (0,0)-(100,100), ring 50 m wide around it,
control = everything else (or a given box far away). Start 2024-01-01 (local), 12 months:
before = 2023, after = 2024, in Stockholm time.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point, box

from geo.errors import AnalysisError, InputError
from geo.evaluation import (
    evaluate,
    relative_effect_size,
    res_interval,
    treated_from_cameras,
    wdq_reading,
    weighted_displacement_quotient,
)

IN_A = (50.0, 50.0)
IN_RING = (120.0, 50.0)  # 20 m east of A: inside the 50 m ring
IN_CONTROL = (1000.0, 1000.0)


def _incidents(rows: list[tuple[tuple[float, float], str, int, str]]) -> gpd.GeoDataFrame:
    """rows of (xy, UTC time, how many, category)."""
    pts, times, cats = [], [], []
    for xy, t, n, cat in rows:
        pts += [Point(*xy)] * n
        times += [t] * n
        cats += [cat] * n
    return gpd.GeoDataFrame(
        {"id": [str(i) for i in range(len(pts))], "time": pd.to_datetime(times, utc=True),
         "category": cats, "precision": "point"},
        geometry=pts, crs=3006)


def _area(fid: str = "A", geom=None, **extra) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [fid], **{k: [v] for k, v in extra.items()}},
                            geometry=[geom or box(0, 0, 100, 100)], crs=3006)


BEFORE, AFTER = "2023-06-15T12:00Z", "2024-06-15T12:00Z"


@pytest.fixture
def scene() -> gpd.GeoDataFrame:
    inc = _incidents([
        (IN_A, BEFORE, 10, "rån"), (IN_A, AFTER, 5, "rån"),
        (IN_RING, BEFORE, 4, "stöld"), (IN_RING, AFTER, 6, "stöld"),
        (IN_CONTROL, BEFORE, 50, "stöld"), (IN_CONTROL, AFTER, 40, "stöld"),
        (IN_A, "2021-06-01T12:00Z", 3, "rån"),  # outside both periods
    ])
    # an incident known only by municipality, placed in A: never counted
    extra = inc.iloc[[0]].copy()
    extra["precision"] = "municipality"
    extra["id"] = "muni"
    return pd.concat([inc, extra], ignore_index=True)


def test_counts_res_interval_and_wdq_by_hand(scene):
    ev = evaluate(scene, _area(), start="2024-01-01", months=12, buffer_m=50)
    row = ev.table.iloc[0]
    assert [row[c] for c in ("a_before", "a_after", "b_before", "b_after",
                             "c_before", "c_after")] == [10, 5, 4, 6, 50, 40]
    assert row["res"] == pytest.approx(10 * 40 / (5 * 50))  # 1.6
    se = math.sqrt(1 / 10 + 1 / 5 + 1 / 50 + 1 / 40)
    assert row["res_ci_low"] == pytest.approx(math.exp(math.log(1.6) - 1.96 * se))
    assert row["res_ci_high"] == pytest.approx(math.exp(math.log(1.6) + 1.96 * se))
    wdq = (6 / 40 - 4 / 50) / (5 / 40 - 10 / 50)  # -0.9333: displacement, less than the effect
    assert row["wdq"] == pytest.approx(wdq)
    assert wdq_reading(row["wdq"], a_change=5 / 40 - 10 / 50) == "displacement_less"
    assert ev.left_out == 1


def test_month_edges_are_local_time():
    # 2023-12-31 23:30 UTC is 2024-01-01 00:30 in Stockholm: after, not before.
    # 2024-12-31 23:30 UTC is 2025-01-01 00:30: outside the after period.
    # 2022-12-31 23:30 UTC is 2023-01-01 00:30: the first moment of before.
    inc = _incidents([(IN_A, "2023-12-31T23:30Z", 1, "x"), (IN_A, "2024-12-31T23:30Z", 1, "x"),
                      (IN_A, "2022-12-31T23:30Z", 1, "x"), (IN_A, "2022-12-31T22:30Z", 1, "x")])
    ev = evaluate(inc, _area(), start="2024-01-01", months=12, buffer_m=50)
    assert ev.table[["a_before", "a_after"]].iloc[0].tolist() == [1, 1]


def test_zero_counts_leave_undefined_values_empty():
    inc = _incidents([(IN_A, BEFORE, 3, "x"), (IN_RING, AFTER, 2, "x"),
                      (IN_CONTROL, BEFORE, 7, "x"), (IN_CONTROL, AFTER, 7, "x")])
    row = evaluate(inc, _area(), start="2024-01-01", buffer_m=50).table.iloc[0]
    assert row["a_after"] == 0
    assert math.isnan(row["res"])  # a_after · c_before = 0
    assert math.isnan(row["res_ci_low"]) and math.isnan(row["res_ci_high"])
    # WDQ is defined: (2/7 - 0/7) / (0/7 - 3/7) = -2/3
    assert row["wdq"] == pytest.approx(-2 / 3)
    # no control incidents at all: WDQ undefined too
    inc2 = _incidents([(IN_A, BEFORE, 3, "x"), (IN_A, AFTER, 1, "x")])
    row2 = evaluate(inc2, _area(), start="2024-01-01", buffer_m=50).table.iloc[0]
    assert math.isnan(row2["wdq"]) and math.isnan(row2["res"])


def test_ring_excludes_every_treated_area_and_control_excludes_rings():
    # B sits 30 m east of A: inside A's ring. Its incidents count in B, not in A's ring,
    # and not in the control.
    a = box(0, 0, 100, 100)
    b = box(130, 0, 230, 100)
    treated = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[a, b], crs=3006)
    inc = _incidents([((180, 50), BEFORE, 4, "x"), ((115, 50), BEFORE, 2, "x"),
                      (IN_CONTROL, BEFORE, 9, "x")])
    ev = evaluate(inc, treated, start="2024-01-01", buffer_m=50)
    t = ev.table.set_index("id")
    assert t.loc["A", "b_before"] == 2  # (115, 50) is in both rings, in no area
    assert t.loc["B", "a_before"] == 4
    assert t.loc["B", "b_before"] == 2
    assert t.loc["A", "c_before"] == t.loc["B", "c_before"] == 9


def test_given_control_and_own_start_column():
    ctrl = gpd.GeoDataFrame(geometry=[box(900, 900, 1100, 1100)], crs=3006)
    inc = _incidents([(IN_A, "2024-03-10T12:00Z", 2, "x"), (IN_A, "2024-05-10T12:00Z", 3, "x"),
                      (IN_CONTROL, "2024-03-10T12:00Z", 4, "x"),
                      ((5000, 5000), "2024-03-10T12:00Z", 8, "x")])  # not in the control
    ev = evaluate(inc, _area(start="2024-04-01"), start="2020-01-01", months=2,
                  buffer_m=50, control=ctrl)
    row = ev.table.iloc[0]
    assert row["start"] == "2024-04-01"
    assert [row["a_before"], row["a_after"], row["c_before"], row["c_after"]] == [2, 3, 4, 0]
    assert "short_period" in ev.warnings["A"] and "too_few" in ev.warnings["A"]


def test_monthly_series_add_up_to_the_period_counts(scene):
    ev = evaluate(scene, _area(), start="2024-01-01", months=12, buffer_m=50)
    m = ev.monthly
    assert len(m) == 24
    assert m["month"].iloc[0] == "2023-01" and m["month"].iloc[-1] == "2024-12"
    before = m[m["period"] == "before"][["a", "b", "c"]].sum().tolist()
    after = m[m["period"] == "after"][["a", "b", "c"]].sum().tolist()
    assert before == [10, 4, 50] and after == [5, 6, 40]
    assert m.loc[m["month"] == "2023-06", "a"].iloc[0] == 10
    cats = ev.by_category.set_index("category")
    assert cats.loc["rån", "a_before"] == 10 and cats.loc["stöld", "b_after"] == 6


def test_a_camera_is_treated_through_its_coverage_polygon():
    # A camera at the origin facing north (90°, 1920 px, 6 m up): the observe polygon is
    # a quarter disc northwards; a point 10 m north is in view, one 10 m south is not.
    cams = gpd.GeoDataFrame({"id": ["K1"], "height_m": [6.0], "azimuth_deg": [0.0],
                             "fov_deg": [90.0], "resolution_px": [1920],
                             "start": ["2024-01-01"]}, geometry=[Point(0, 0)], crs=3006)
    treated = treated_from_cameras(cams, level="observe")
    assert treated.geometry.iloc[0].contains(Point(0, 10))
    assert not treated.geometry.iloc[0].contains(Point(0, -10))
    inc = _incidents([((0, 10), BEFORE, 3, "x"), ((0, 10), AFTER, 1, "x"),
                      ((0, -10), BEFORE, 5, "x")])  # behind the camera: in the ring
    row = evaluate(inc, treated, buffer_m=50).table.iloc[0]
    assert [row["a_before"], row["a_after"], row["b_before"]] == [3, 1, 5]


def test_bad_input_names_the_feature():
    inc = _incidents([(IN_A, BEFORE, 1, "x")])
    two = gpd.GeoDataFrame({"id": ["A", "B"], "start": ["2024-01-01", "soon"]},
                           geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)], crs=3006)
    with pytest.raises(InputError) as err:
        evaluate(inc, two)
    assert err.value.problems[0].index == 1 and "soon" in err.value.problems[0].reason
    with pytest.raises(InputError, match="no start date"):
        evaluate(inc, _area())
    with pytest.raises(AnalysisError):
        evaluate(inc, _area(), start="2024-01-01", months=0)
    with pytest.raises(AnalysisError):
        evaluate(inc, _area(), start="2024-01-01", buffer_m=float("nan"))


@pytest.mark.parametrize("counts", [(20, 10, 100, 100), (7, 3, 41, 55), (1, 1, 1, 1)])
def test_figures_agree_with_an_independent_log_formula(counts):
    ab, aa, cb, ca = counts
    res = relative_effect_size(*counts)
    assert res == pytest.approx(np.exp(np.log(ab) + np.log(ca) - np.log(aa) - np.log(cb)))
    lo, hi = res_interval(*counts)
    assert lo < res < hi
    assert math.sqrt(lo * hi) == pytest.approx(res)  # symmetric on the log scale
    wdq = weighted_displacement_quotient(ab, aa, 5, 5, cb, ca)
    if aa / ca == ab / cb:  # no change relative to the control: no WDQ
        assert math.isnan(wdq)
    else:
        assert wdq == pytest.approx((5 / ca - 5 / cb) / (aa / ca - ab / cb))


SECRET = b"evaluation-test-secret-0123456789"


def _public_scene():
    # 40 incidents spread over A's cells before, 25 after; a busy control; one isolated
    # incident at (33, 33) inside a 6 x 6 m hole of the second area version.
    rng = np.random.default_rng(7)
    rows = []
    for t, n in ((BEFORE, 40), (AFTER, 25)):
        for x, y in rng.uniform(5, 95, size=(n, 2)):
            rows.append(((float(x), float(y)), t, 1, "x"))
    for t, n in ((BEFORE, 60), (AFTER, 66)):
        for x, y in rng.uniform(2000, 3000, size=(n, 2)):
            rows.append(((float(x), float(y)), t, 1, "y"))
    rows.append(((33.0, 33.0), BEFORE, 1, "z"))
    return _incidents(rows)


def test_public_counts_are_protected_and_within_the_bound():
    inc = _public_scene()
    exact = evaluate(inc, _area(), start="2024-01-01", buffer_m=500).table.iloc[0]
    pub = evaluate(inc, _area(), start="2024-01-01", secret=SECRET)
    row = pub.table.iloc[0]
    assert pub.public and pub.buffer_m == 500
    for c in ("a_before", "a_after", "c_before", "c_after"):
        assert abs(row[c] - exact[c]) <= 3 and row[c] not in (1, 2)
    # every derived figure comes from the published counts
    assert row["res"] == pytest.approx(relative_effect_size(
        row["a_before"], row["a_after"], row["c_before"], row["c_after"]))
    # the same incidents always publish the same values
    again = evaluate(inc, _area(), start="2024-01-01", secret=SECRET).table
    pd.testing.assert_frame_equal(pub.table, again)
    # monthly cells are protected too: none is 1 or 2
    assert not pub.monthly[["a", "b", "c"]].isin([1, 2]).any().any()


def test_public_differencing_two_areas_reveals_nothing():
    # The attack: the same box minus a 6 x 6 m hole around one incident. Both areas hold
    # the same 100 m grid-cell centres, so they publish the same figures.
    inc = _public_scene()
    holed = box(0, 0, 100, 100).difference(box(30, 30, 36, 36))
    a = evaluate(inc, _area(), start="2024-01-01", secret=SECRET).table
    b = evaluate(inc, _area(geom=holed), start="2024-01-01", secret=SECRET).table
    pd.testing.assert_frame_equal(a, b)
    # while the exact (non-public) counts do differ by that incident
    ea = evaluate(inc, _area(), start="2024-01-01").table.iloc[0]
    eb = evaluate(inc, _area(geom=holed), start="2024-01-01").table.iloc[0]
    in_hole = inc.geometry.within(box(30, 30, 36, 36)) & (inc["time"] < "2024-01-01")
    assert ea["a_before"] - eb["a_before"] == int(in_hole.sum()) >= 1


def test_public_ring_width_is_fixed():
    inc = _public_scene()
    with pytest.raises(AnalysisError, match="500 m ring"):
        evaluate(inc, _area(), start="2024-01-01", buffer_m=50, secret=SECRET)


# --------------------------------------------------------------------------- the report


def _report_scene():
    inc = _incidents([
        (IN_A, BEFORE, 12, "Rån"), (IN_A, AFTER, 4, "Rån"),
        (IN_A, BEFORE, 9, "Skadegörelse"), (IN_A, AFTER, 6, "Skadegörelse"),
        (IN_RING, BEFORE, 5, "Rån"), (IN_RING, AFTER, 3, "Rån"),
        (IN_CONTROL, BEFORE, 61, "Rån"), (IN_CONTROL, AFTER, 58, "Rån"),
    ])
    return evaluate(inc, _area(), start="2024-01-01", months=12, buffer_m=50)


@pytest.fixture(scope="module")
def browser():
    from _cdp import Browser, find_chromium

    exe = find_chromium()
    assert exe, "the report tests need Debian's chromium"
    b = Browser(exe, width=1000, height=1400)
    for domain in ("Page", "Runtime", "Network"):
        b.call(f"{domain}.enable")
    b.call("Network.setBlockedURLs", urls=["http://*", "https://*"])
    yield b
    b.close()


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_report_in_chromium_states_the_figures(tmp_path, browser, lang):
    from _lang import english_words, visible_text

    from geo.evaluation import report_html

    ev = _report_scene()
    page = tmp_path / f"report_{lang}.html"
    page.write_text(report_html(ev, lang=lang, sources=["inc.geojson"]), encoding="utf-8")
    browser.open(page.as_uri(), ready="document.readyState === 'complete'")
    text = visible_text(browser)
    row = ev.table.iloc[0]
    res = f"{row['res']:.2f}"  # 21·58 / (10·61) = 1.9967...
    assert res == "2.00"
    assert (res.replace(".", ",") if lang == "sv" else res) in text
    low = f"{row['res_ci_low']:.2f}"
    assert (low.replace(".", ",") if lang == "sv" else low) in text
    assert browser.evaluate("document.documentElement.lang") == lang
    assert browser.evaluate("document.querySelectorAll('svg polyline').length") >= 3 * 3
    assert browser.evaluate("document.querySelectorAll('link[href], script[src]').length") == 0
    if lang == "sv":
        assert "Relativ effektstorlek" in text and "Viktad förflyttningskvot" in text
        # "ring" and "december" are Swedish words too
        assert english_words(text, allow=frozenset({"ring", "december"})) == []
    else:
        assert "Relative effect size" in text


def test_both_languages_state_the_same_figures():
    from _lang import same_numbers

    from geo.evaluation import report_html

    ev = _report_scene()

    def text(lang: str) -> str:
        html = report_html(ev, lang=lang, generated=dt.date(2026, 12, 1))
        html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)  # the CSS is no figure
        return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))

    sv, en = text("sv"), text("en")
    only_sv, only_en = same_numbers(sv, en)
    assert not only_sv and not only_en


def test_report_reads_the_interval_plainly():
    from geo.evaluation import report_html

    ev = _report_scene()  # RES 2.00, interval 0.99–4.02: includes 1
    lo, hi = ev.table.iloc[0][["res_ci_low", "res_ci_high"]]
    assert lo < 1 < hi
    assert "inom vad slumpen ensam kan ge" in report_html(ev, lang="sv")
    assert "within what chance alone can give" in report_html(ev, lang="en")
