"""The lägesbild's figures (geo.lagesbild), on scenes small enough to count on paper.

Local calendar months (Europe/Stockholm): CET is UTC+1, CEST UTC+2; in 2026 clocks go
forward on Sunday 29 March (02:00 CET -> 03:00 CEST) and back on Sunday 25 October
(03:00 CEST -> 02:00 CET).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from shapely import Point, box

from geo.errors import InputError
from geo.lagesbild import (
    ALL,
    DEFAULT_GROUP,
    DEFAULT_GROUPS,
    NO_GROUPS,
    GroupTable,
    exact_p,
    lagesbild,
    load_groups,
    local_month_index,
    month_label,
    parse_period,
    read_survey,
)

X0, Y0 = 674_000.0, 6_580_000.0  # a corner of the national 100 m grid


def _inc(rows: list[tuple], crs: int = 3006) -> gpd.GeoDataFrame:
    """rows of (time, category, x, y[, precision[, id]])."""
    times, cats, geoms, precs, ids = [], [], [], [], []
    for i, r in enumerate(rows):
        t, c, x, y = r[:4]
        times.append(t)
        cats.append(c)
        geoms.append(Point(x, y))
        precs.append(r[4] if len(r) > 4 else "point")
        ids.append(r[5] if len(r) > 5 else f"I{i}")
    return gpd.GeoDataFrame({"id": ids, "time": pd.to_datetime(times, utc=True),
                             "category": cats, "precision": precs}, geometry=geoms, crs=crs)


def _areas() -> gpd.GeoDataFrame:
    # A: a 200 m square at the grid corner; B: the 200 m square east of it
    return gpd.GeoDataFrame({"id": ["A", "B"], "name": ["Centrum", "Hamnen"]},
                            geometry=[box(X0, Y0, X0 + 200, Y0 + 200),
                                      box(X0 + 200, Y0, X0 + 400, Y0 + 200)], crs=3006)


def _row(r, area=ALL, category=ALL, level=None):
    return r.row(area, category, level)


# --------------------------------------------------------------------------- periods


def test_period_windows_on_paper():
    p = parse_period("2026-01", months=1)
    assert p.labels == ["2026-01"]
    assert p.previous.labels == ["2025-12"]
    assert p.last_year.labels == ["2025-01"]
    q = parse_period("2026-11", months=4)
    assert q.labels == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert q.previous.labels == ["2026-04", "2026-05", "2026-06", "2026-07"]
    assert q.last_year.labels == ["2025-08", "2025-09", "2025-10", "2025-11"]
    assert q.series.labels[0] == "2024-12" and q.series.labels[-1] == "2026-11"
    assert len(q.series.labels) == 24
    # local midnights: 1 August is CEST (UTC+2), 1 December CET (UTC+1)
    assert str(q.start_utc) == "2026-07-31 22:00:00+00:00"
    assert str(q.end_utc) == "2026-11-30 23:00:00+00:00"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-11", "2026/11", "november",
                                  "2026-1", "", "3000-01"])
def test_bad_period_is_a_clear_error(text):
    with pytest.raises(InputError) as e:
        parse_period(text)
    msg = str(e.value)
    assert msg.startswith("--period:") and "YYYY-MM" in msg


@pytest.mark.parametrize("months", [0, 13, -1])
def test_bad_months_is_a_clear_error(months):
    with pytest.raises(InputError, match="--months.*1 to 12"):
        parse_period("2026-11", months=months)


@pytest.mark.parametrize("utc, local_month", [
    ("2026-10-31T22:59:59Z", "2026-10"),   # 23:59:59 CET on 31 October
    ("2026-10-31T23:00:00Z", "2026-11"),   # 00:00 CET on 1 November
    ("2026-08-31T21:59:59Z", "2026-08"),   # 23:59:59 CEST on 31 August
    ("2026-08-31T22:00:00Z", "2026-09"),   # 00:00 CEST on 1 September
    ("2026-12-31T23:30:00Z", "2027-01"),   # a new year in Stockholm, not yet in UTC
    ("2026-03-31T21:59:00Z", "2026-03"),   # after spring forward: UTC+2
    ("2026-03-31T22:00:00Z", "2026-04"),
])
def test_local_month_of_utc_times(utc, local_month):
    idx = local_month_index(pd.Series(pd.to_datetime([utc], utc=True)))
    assert month_label(int(idx[0])) == local_month


# --------------------------------------------------------------------------- exact test


def test_exact_p_equals_scipy_binomtest():
    ks, rs = np.meshgrid(np.arange(0, 41), np.arange(0, 41))
    got = exact_p(ks.ravel(), rs.ravel())
    for k, r, p in zip(ks.ravel(), rs.ravel(), got, strict=True):
        if k + r == 0:
            assert np.isnan(p)
        else:
            assert p == pytest.approx(stats.binomtest(int(k), int(k + r), 0.5).pvalue,
                                      rel=1e-9, abs=1e-15)
    # on paper: 10 against 2 -> 2 * P(X <= 2 | n=12) = 2 * (1 + 12 + 66) / 4096
    assert exact_p(10, 2) == pytest.approx(2 * 79 / 4096)
    assert exact_p(2, 10) == pytest.approx(2 * 79 / 4096)
    assert exact_p(5, 5) == 1.0


# --------------------------------------------------------------------------- counting


def test_counts_across_local_month_edges_and_dst():
    inc = _inc([
        ("2026-10-31T23:30:00Z", "Klotter", X0 + 50, Y0 + 50),  # 1 Nov 00:30 CET: Nov
        ("2026-10-31T22:30:00Z", "Klotter", X0 + 50, Y0 + 50),  # 31 Oct 23:30 CET: Oct
        ("2026-11-30T22:59:00Z", "Rån", X0 + 50, Y0 + 50),      # 30 Nov 23:59 CET: Nov
        ("2026-11-30T23:00:00Z", "Rån", X0 + 50, Y0 + 50),      # 1 Dec 00:00 CET: Dec
        ("2026-10-25T00:30:00Z", "Rån", X0 + 50, Y0 + 50),      # 02:30 CEST (first) Oct
        ("2026-10-25T01:30:00Z", "Rån", X0 + 50, Y0 + 50),      # 02:30 CET (second) Oct
        ("2025-11-01T00:10:00+01:00", "Stöld", X0 + 50, Y0 + 50),  # last year
        ("2025-10-31T23:10:00+00:00", "Stöld", X0 + 50, Y0 + 50),  # 00:10 CET 1 Nov 2025
    ])
    r = lagesbild(inc, period=parse_period("2026-11"), groups=NO_GROUPS)
    whole = _row(r)
    assert (whole["count"], whole["previous"], whole["last_year"]) == (2, 3, 2)
    assert _row(r, category="Klotter")[["count", "previous"]].tolist() == [1, 1]
    assert _row(r, category="Rån")[["count", "previous"]].tolist() == [1, 2]
    assert _row(r, category="Stöld")["last_year"] == 1 + 1
    # the fall-back Sunday: both 02:30 local, one hour of the clock twice
    oct_r = lagesbild(inc, period=parse_period("2026-10"), groups=NO_GROUPS)
    sun = oct_r.when.set_index("weekday").loc["sun"]
    assert sun["h02"] == 2 and sun["total"] == 2
    # the same figures as rows of the counts table, with the comparisons
    assert _row(oct_r, category="sun 02", level="weekday_hour")["count"] == 2
    assert _row(oct_r, category="sun", level="weekday")["count"] == 2
    assert _row(oct_r, category="02", level="hour")["count"] == 2
    # 31 Oct 23:30 CET is a Saturday; 30 Nov 23:59 a Monday; 1 Nov 00:30 a Sunday
    assert _row(r, category="sat 23", level="weekday_hour")[["count", "previous"]].tolist() \
        == [0, 1]
    assert _row(r, category="mon 23", level="weekday_hour")["count"] == 1
    assert _row(r, category="sun 00", level="weekday_hour")["count"] == 1
    wh = r.counts[r.counts["level"] == "weekday_hour"]
    assert len(wh) == 168 and wh["count"].sum() == _row(r)["count"]
    assert wh["previous"].sum() == _row(r)["previous"]
    grid = r.when.set_index("weekday").loc[:, [f"h{h:02d}" for h in range(24)]].iloc[:7]
    assert wh["count"].tolist() == grid.to_numpy().ravel().tolist()
    monthly = r.monthly[(r.monthly["area_id"] == ALL) & (r.monthly["category"] == ALL)]
    got = dict(zip(monthly["month"], monthly["count"], strict=True))
    assert len(got) == 24 and min(got) == "2024-12" and max(got) == "2026-11"
    assert (got["2026-11"], got["2026-10"], got["2025-11"]) == (2, 3, 2)
    assert sum(got.values()) == 7  # December 2026 is after the series


def test_spring_forward_hours_and_month():
    inc = _inc([
        ("2026-03-29T00:59:00Z", "Rån", X0, Y0),   # 01:59 CET
        ("2026-03-29T01:00:00Z", "Rån", X0, Y0),   # 03:00 CEST (02:xx does not exist)
        ("2026-03-31T21:59:00Z", "Rån", X0, Y0),   # 23:59 CEST 31 March
        ("2026-03-31T22:00:00Z", "Rån", X0, Y0),   # 00:00 CEST 1 April
    ])
    r = lagesbild(inc, period=parse_period("2026-03"), groups=NO_GROUPS)
    assert _row(r)["count"] == 3
    w = r.when.set_index("weekday")
    assert (w.loc["sun", "h01"], w.loc["sun", "h02"], w.loc["sun", "h03"]) == (1, 0, 1)
    assert w.loc["tue", "h23"] == 1
    assert w.loc[ALL, "total"] == 3 and w["h23"].iloc[:7].sum() == 1


def test_several_months_and_both_references():
    # period Aug-Oct 2026 (3 months): previous May-Jul 2026, last year Aug-Oct 2025
    times = (["2026-08-10T12:00Z"] * 4 + ["2026-10-31T12:00Z"] * 2     # period: 6
             + ["2026-05-01T12:00Z"] * 1 + ["2026-07-31T20:00Z"] * 1   # previous: 2
             + ["2025-09-15T12:00Z"] * 3                               # last year: 3
             + ["2026-04-30T12:00Z", "2026-11-01T12:00Z"])             # outside all
    inc = _inc([(t, "Stöld", X0 + 10, Y0 + 10) for t in times])
    r = lagesbild(inc, _areas(), period=parse_period("2026-10", months=3),
                  groups=NO_GROUPS)
    for area in (ALL, "A"):
        row = _row(r, area=area)
        assert (row["count"], row["previous"], row["last_year"]) == (6, 2, 3)
        assert row["p_previous"] == pytest.approx(stats.binomtest(6, 8, 0.5).pvalue)
        assert row["p_last_year"] == pytest.approx(stats.binomtest(6, 9, 0.5).pvalue)
    b = _row(r, area="B")
    assert (b["count"], b["previous"], b["last_year"]) == (0, 0, 0)
    assert np.isnan(b["p_previous"]) and np.isnan(b["p_last_year"])


def test_municipality_precision_counts_in_all_only():
    # all three inside area A's square; only the point and the street one count in A
    inc = _inc([
        ("2026-11-05T12:00Z", "Rån", X0 + 50, Y0 + 50, "point"),
        ("2026-11-05T12:00Z", "Rån", X0 + 60, Y0 + 50, "street"),
        ("2026-11-05T12:00Z", "Rån", X0 + 70, Y0 + 50, "municipality"),
        ("2026-11-06T12:00Z", "Stöld", X0 + 80, Y0 + 50, "county"),
        ("2026-10-06T12:00Z", "Stöld", X0 + 80, Y0 + 50, "municipality"),
    ])
    r = lagesbild(inc, _areas(), period=parse_period("2026-11"), groups=NO_GROUPS)
    assert _row(r)["count"] == 4
    assert _row(r, category="Rån")["count"] == 3
    assert _row(r, area="A")["count"] == 2
    assert _row(r, area="A", category="Rån")["count"] == 2
    assert _row(r, area="A", category="Stöld")[["count", "previous"]].tolist() == [0, 0]
    # named in the whole layer's figures
    prec = r.counts[r.counts["level"] == "precision"].set_index("category")
    assert prec.loc["municipality", ["count", "previous"]].tolist() == [1, 1]
    assert prec.loc["county", "count"] == 1 and prec.loc["point", "count"] == 1
    assert set(prec["area_id"]) == {ALL}
    imp = [o for o in r.observations if o.kind == "imprecise"]
    assert imp and imp[0].values["count"] == 2 and imp[0].values["whole"] == 4
    # and never in an area's monthly series
    a = r.monthly[(r.monthly["area_id"] == "A") & (r.monthly["category"] == ALL)]
    assert a["count"].sum() == 2


def test_area_edge_and_overlap():
    # on the shared edge x = X0+200 an incident is in both A and B (covered_by)
    inc = _inc([("2026-11-05T12:00Z", "Rån", X0 + 200, Y0 + 100)])
    r = lagesbild(inc, _areas(), period=parse_period("2026-11"), groups=NO_GROUPS)
    assert _row(r, area="A")["count"] == 1 and _row(r, area="B")["count"] == 1
    assert _row(r)["count"] == 1


def test_default_group_and_categories_merge_spellings():
    inc = _inc([
        ("2026-11-05T12:00Z", "Klotter", X0, Y0),
        ("2026-11-05T12:00Z", " klotter ", X0, Y0),
        ("2026-11-05T12:00Z", "Ordningsstörning", X0, Y0),
        ("2026-11-05T12:00Z", "Skadegörelse", X0, Y0),
        ("2026-11-05T12:00Z", "Rån", X0, Y0),
        ("2026-10-05T12:00Z", "Narkotikabrott", X0, Y0),
    ])
    r = lagesbild(inc, period=parse_period("2026-11"))
    grp = _row(r, category=DEFAULT_GROUP, level="group")
    assert (grp["count"], grp["previous"]) == (4, 1)
    assert _row(r, category="Klotter")["count"] == 2   # two spellings, one category
    assert r.categories[0] == "Klotter"
    assert "Rån" in r.categories and DEFAULT_GROUPS.group_of("Rån") is None


def test_groups_file_replaces_the_default(tmp_path: Path):
    f = tmp_path / "g.csv"
    f.write_text("category;group\nRån;våld\nMisshandel;våld\nKlotter;ordning\n",
                 encoding="utf-8")
    g = load_groups(f)
    assert g.groups == ("våld", "ordning")
    assert g.group_of("RÅN") == "våld" and g.group_of("Skadegörelse") is None
    inc = _inc([("2026-11-05T12:00Z", c, X0, Y0)
                for c in ["Rån", "Misshandel", "Misshandel", "Klotter", "Skadegörelse"]])
    r = lagesbild(inc, period=parse_period("2026-11"), groups=g)
    assert _row(r, category="våld", level="group")["count"] == 3
    assert _row(r, category="ordning", level="group")["count"] == 1
    assert not (r.counts["category"] == DEFAULT_GROUP).any()


@pytest.mark.parametrize("text, reason", [
    ("category,severity\nRån,3\n", "missing column group"),
    ("category,group\n,våld\n", "row 1 (line 2): empty category"),
    ("category,group\nRån,\n", "row 1 (line 2): empty group"),
    ("category,group\nRån,a\nrån,b\n", "row 2 (line 3): category 'rån' is already in group 'a'"),
    ("", "empty"),
])
def test_bad_groups_file(tmp_path: Path, text, reason):
    f = tmp_path / "g.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_groups(f)
    assert str(f) in str(e.value) and reason in str(e.value)


def test_missing_groups_file(tmp_path: Path):
    with pytest.raises(InputError, match="no such groups file"):
        load_groups(tmp_path / "nope.csv")


def test_areas_without_id_is_a_clear_error():
    inc = _inc([("2026-11-05T12:00Z", "Rån", X0, Y0)])
    bad = _areas().drop(columns=["id"])
    with pytest.raises(InputError, match="omr.geojson: missing field 'id'"):
        lagesbild(inc, bad, period=parse_period("2026-11"), areas_source="omr.geojson")


# --------------------------------------------------------------------------- analysis


def _cluster(t: str, n: int, x: float, y: float, cat: str = "Rån") -> list[tuple]:
    return [(t, cat, x, y)] * n


def test_observations_name_significant_changes_and_say_within_chance():
    rows = (_cluster("2026-11-05T12:00Z", 12, X0 + 50, Y0 + 50)     # A: 12 now
            + _cluster("2026-10-05T12:00Z", 2, X0 + 50, Y0 + 50)    # A: 2 before
            + _cluster("2026-11-05T12:00Z", 3, X0 + 250, Y0 + 50)   # B: 3 now
            + _cluster("2026-10-05T12:00Z", 13, X0 + 250, Y0 + 50)  # B: 13 before
            + _cluster("2025-11-05T12:00Z", 15, X0 + 250, Y0 + 50))  # last year
    r = lagesbild(_inc(rows), _areas(), period=parse_period("2026-11"), groups=NO_GROUPS)
    # the whole layer: 15 against 15: within chance
    nc = [o for o in r.observations if o.kind == "no_change"
          and o.values["reference"] == "previous"]
    assert nc and nc[0].values["p"] == 1.0
    changes = [o.values for o in r.observations if o.kind == "change"]
    keyed = {(c["area_id"], c["reference"], c["level"]) for c in changes}
    assert ("A", "previous", "all") in keyed and ("B", "previous", "all") in keyed
    a = next(c for c in changes if c["area_id"] == "A" and c["reference"] == "previous"
             and c["level"] == "all")
    assert a["p"] == pytest.approx(stats.binomtest(12, 14, 0.5).pvalue)
    tests = next(o.values for o in r.observations if o.kind == "tests")
    assert tests["expected_by_chance"] == pytest.approx(0.05 * tests["tests"])
    # A's share rose from 2/15 to 12/15: Fisher's exact test
    share = [o.values for o in r.observations if o.kind == "share_rose"
             and o.values["reference"] == "previous"]
    assert [s["area_id"] for s in share] == ["A"]
    assert share[0]["p"] == pytest.approx(
        stats.fisher_exact([[12, 3], [2, 13]]).pvalue)


def test_new_and_persistent_hot_spots():
    big = gpd.GeoDataFrame({"id": ["K"], "name": ["Kommunen"]},
                           geometry=[box(X0, Y0, X0 + 3000, Y0 + 3000)], crs=3006)
    p_cell = (X0 + 550, Y0 + 550)   # hot in all three periods
    n_cell = (X0 + 2450, Y0 + 2450)  # hot only now
    rows = []
    for t in ("2026-11-10T12:00Z", "2026-10-10T12:00Z", "2025-11-10T12:00Z"):
        rows += _cluster(t, 20, *p_cell)
    rows += _cluster("2026-11-12T12:00Z", 20, *n_cell)
    r = lagesbild(_inc(rows), big, period=parse_period("2026-11"), groups=NO_GROUPS)
    cells = r.cells.set_index(["x", "y"])
    assert cells.loc[(X0 + 500, Y0 + 500), "status"] == "persistent"
    assert cells.loc[(X0 + 2400, Y0 + 2400), "status"] == "new"
    assert cells.loc[(X0 + 500, Y0 + 500), "count"] == 20
    obs = {o.kind: o.values for o in r.observations}
    assert obs["new_hotspots"]["cells"] >= 1 and obs["new_hotspots"]["areas"] == ["Kommunen"]
    assert obs["persistent_hotspots"]["cells"] >= 1
    # the density map is computed from the period only (KDE mass near the two clusters)
    assert cells.loc[(X0 + 500, Y0 + 500), "density"] > 0


def test_trend_over_24_months():
    # 1, 2, ..., 24 incidents in the 24 months ending November 2026: rising
    rows = []
    for i, m in enumerate(pd.period_range("2024-12", "2026-11", freq="M")):
        rows += _cluster(f"{m}-15T12:00Z", i + 1, X0 + 10, Y0 + 10)
    r = lagesbild(_inc(rows), period=parse_period("2026-11"), groups=NO_GROUPS)
    row = _row(r)
    assert row["count"] == 24 and row["previous"] == 23 and row["last_year"] == 12
    assert row["trend_change_per_month"] > 0 and row["trend_p"] < 0.001
    assert any(o.kind == "trend" and o.values["area_id"] == ALL for o in r.observations)


# --------------------------------------------------------------------------- public


class _Rounding:
    """A stand-in protector: published = the count rounded up to a multiple of 5 (0 stays
    0), record keys = 0.1 each; assigns by 100 m cell centre."""

    def record_keys(self, incidents):
        return np.full(len(incidents), 0.1)

    def protect(self, counts, key_sums):
        c = np.asarray(counts)
        return np.where(c > 0, np.ceil(c / 5) * 5, 0).astype(np.int64)

    def assign_points(self, x, y):
        return np.floor(x / 100) * 100 + 50, np.floor(y / 100) * 100 + 50


def test_public_counts_are_protected_and_p_values_come_from_them():
    # 7 now and 1 before in A; an incident inside A whose 100 m cell centre is outside
    small = gpd.GeoDataFrame({"id": ["S"], "name": ["Torget"]},
                             geometry=[box(X0, Y0, X0 + 40, Y0 + 40)], crs=3006)
    rows = (_cluster("2026-11-05T12:00Z", 7, X0 + 10, Y0 + 10)
            + _cluster("2026-10-05T12:00Z", 1, X0 + 10, Y0 + 10))
    exact = lagesbild(_inc(rows), small, period=parse_period("2026-11"), groups=NO_GROUPS)
    assert _row(exact, area="S")["count"] == 7
    pub = lagesbild(_inc(rows), small, period=parse_period("2026-11"), groups=NO_GROUPS,
                    protector=_Rounding())
    assert pub.public
    # the cell centre (X0+50, Y0+50) lies outside the 40 m square: nothing in S
    assert _row(pub, area="S")[["count", "previous"]].tolist() == [0, 0]
    whole = _row(pub)
    assert (whole["count"], whole["previous"]) == (10, 5)
    assert whole["p_previous"] == pytest.approx(stats.binomtest(10, 15, 0.5).pvalue)
    assert whole["p_previous"] != pytest.approx(stats.binomtest(7, 8, 0.5).pvalue)
    # every published figure is a multiple of 5
    for col in ("count", "previous", "last_year"):
        assert (pub.counts[col] % 5 == 0).all()
    assert (pub.monthly["count"] % 5 == 0).all()
    hours = pub.when.drop(columns=["weekday"]).to_numpy()
    assert (hours % 5 == 0).all() and pub.when["total"].iloc[-1] == 10
    assert (pub.cells["count"] % 5 == 0).all()
    assert pub.cells["density"].isna().all()   # no KDE of exact positions


def test_public_map_extent_ignores_exact_positions():
    # the same cell counts from positions 90 m apart inside one cell: the same map
    a = _inc(_cluster("2026-11-05T12:00Z", 4, X0 + 5, Y0 + 5))
    b = _inc(_cluster("2026-11-05T12:00Z", 4, X0 + 95, Y0 + 95))
    ra = lagesbild(a, period=parse_period("2026-11"), protector=_Rounding())
    rb = lagesbild(b, period=parse_period("2026-11"), protector=_Rounding())
    assert ra.grid == rb.grid
    pd.testing.assert_frame_equal(ra.cells, rb.cells)
    pd.testing.assert_frame_equal(ra.counts, rb.counts)


# --------------------------------------------------------------------------- survey


def test_survey(tmp_path: Path):
    f = tmp_path / "s.csv"
    f.write_text("area_id;otrygg_kväll_%;kommentar\nB;23,5;trygghetsvandring\nA;31;\n",
                 encoding="utf-8")
    s = read_survey(f, ["A", "B", "C"])
    assert s.index.tolist() == ["A", "B", "C"]
    assert s["otrygg_kväll_%"].tolist()[:2] == [31.0, 23.5]
    assert np.isnan(s.loc["C", "otrygg_kväll_%"])
    assert s.loc["B", "kommentar"] == "trygghetsvandring" and pd.isna(s.loc["A", "kommentar"])


@pytest.mark.parametrize("text, reason", [
    ("id,x\nA,1\n", "missing column area_id"),
    ("area_id\nA\n", "no indicator column"),
    ("area_id,x\nQ,1\n", "row 1 (line 2): area_id 'Q' is not an id of the areas layer"),
    ("area_id,x\nA,1\nA,2\n", "row 2 (line 3): area_id 'A' given twice"),
])
def test_bad_survey(tmp_path: Path, text, reason):
    f = tmp_path / "s.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_survey(f, ["A", "B"])
    assert str(f) in str(e.value) and reason in str(e.value)


def test_group_table_normalises():
    g = GroupTable({"Stöld / inbrott": "egendom"})
    assert g.group_of("stöld/inbrott") == "egendom"


def test_public_lists_no_category_whose_published_figures_are_all_zero():
    from geo.disclosure import KEY_RANGE, record_keys
    from geo.lagesbild import DisclosureProtector

    secret = b"0123456789abcdef"
    # an id whose record key bin is below 176: one incident alone publishes 0
    rare = next(f"R{i}" for i in range(100)
                if record_keys([f"id:R{i}"], secret=secret)[0] * KEY_RANGE < 176)
    rows = ([("2026-11-05T12:00Z", "Stöld", X0 + 10, Y0 + 10, "point", f"S{i}")
             for i in range(10)]
            + [("2026-11-06T12:00Z", "Mord", X0 + 10, Y0 + 10, "municipality", rare)])
    exact = lagesbild(_inc(rows), period=parse_period("2026-11"), groups=NO_GROUPS)
    assert "Mord" in exact.categories
    assert "municipality" in set(exact.counts["category"])
    pub = lagesbild(_inc(rows), period=parse_period("2026-11"), groups=NO_GROUPS,
                    protector=DisclosureProtector(secret))
    assert "Mord" not in pub.categories and "Stöld" in pub.categories
    assert not (pub.counts["category"] == "Mord").any()
    assert not (pub.monthly["category"] == "Mord").any()
    assert "municipality" not in set(pub.counts["category"])
    assert pub.data_range is None and exact.data_range is not None
    assert not any(o.kind == "incomplete" for o in pub.observations)
