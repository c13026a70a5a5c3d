"""geo.temporal (local-time filters, weekday × hour) and geo.trends (emerging hot spots).

Includes the real Toronto incidents moved into Stockholm by a pure translation after
projecting to UTM 17N (see tests/toronto.py).
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from shapely import Polygon, points

from geo.density import density_grid, kde_direct
from geo.errors import AnalysisError, InputError
from geo.temporal import filter_incidents, parse_hours, parse_weekdays, when_table
from geo.trends import classify_series, emerging_hotspots, mann_kendall

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _toronto import toronto_in_stockholm  # noqa: E402

X0, Y0 = 674_000.0, 6_580_000.0


def frame(times, categories=None, xy=None):
    n = len(times)
    return gpd.GeoDataFrame(
        {"time": pd.to_datetime(times, utc=True),
         "category": categories or ["Rån"] * n,
         "precision": "point"},
        geometry=points(xy if xy is not None else np.c_[np.full(n, X0), np.full(n, Y0)]),
        crs=3006,
    )


# ------------------------------------------------------------------ filters across DST


# Stockholm: 2024-03-31 02:00 CET → 03:00 CEST; 2024-10-27 03:00 CEST → 02:00 CET.
DST_TIMES = [
    "2024-03-30T21:30Z",  # 0: Sat 22:30 CET            night
    "2024-03-31T00:59Z",  # 1: Sun 01:59 CET            night
    "2024-03-31T01:00Z",  # 2: Sun 03:00 CEST           night
    "2024-03-31T03:59Z",  # 3: Sun 05:59 CEST           night
    "2024-03-31T04:00Z",  # 4: Sun 06:00 CEST           day
    "2024-10-26T19:59Z",  # 5: Sat 21:59 CEST           day
    "2024-10-26T20:00Z",  # 6: Sat 22:00 CEST           night
    "2024-10-27T00:30Z",  # 7: Sun 02:30 CEST (1st)     night
    "2024-10-27T01:30Z",  # 8: Sun 02:30 CET (2nd)      night
    "2024-10-27T04:59Z",  # 9: Sun 05:59 CET            night
    "2024-10-27T05:00Z",  # 10: Sun 06:00 CET           day
]


def test_hours_filter_uses_local_time_across_dst():
    inc = frame(DST_TIMES)
    assert filter_incidents(inc, hours="22-06").index.tolist() == [0, 1, 2, 3, 6, 7, 8, 9]
    assert filter_incidents(inc, hours="6-22").index.tolist() == [4, 5, 10]
    assert filter_incidents(inc, hours="2").index.tolist() == [7, 8]


def test_weekday_and_date_filters_across_dst():
    inc = frame(DST_TIMES)
    assert filter_incidents(inc, weekdays="sat").index.tolist() == [0, 5, 6]
    # until a bare date includes that whole local day (ends 2024-03-31 22:00Z in CEST)
    assert filter_incidents(inc, until="2024-03-31").index.tolist() == [0, 1, 2, 3, 4]
    # since a local date-time: 2024-10-27T02:30 is ambiguous; the first (CEST) is taken
    assert filter_incidents(inc, since="2024-10-27T02:30").index.tolist() == [7, 8, 9, 10]
    both = filter_incidents(inc, since="2024-10-27", weekdays="sun", hours="22-06")
    assert both.index.tolist() == [7, 8, 9]


def test_category_filter_ignores_case_and_spacing():
    inc = frame(DST_TIMES[:3], categories=["Misshandel, grov", "Rån", "stöld"])
    assert filter_incidents(inc, categories="misshandel,GROV , Stöld").index.tolist() == [2]
    assert filter_incidents(inc, categories=["Misshandel,grov", "rån"]).index.tolist() == [0, 1]


@pytest.mark.parametrize(("text", "hours"), [("22-06", [22, 23, 0, 1, 2, 3, 4, 5]),
                                             ("0-24", list(range(24))), ("23-1", [23, 0])])
def test_parse_hours(text, hours):
    assert parse_hours(text) == frozenset(hours)


@pytest.mark.parametrize("bad", ["25", "22-22", "x-3", "8-25", ""])
def test_parse_hours_rejects(bad):
    with pytest.raises(InputError, match="--hours"):
        parse_hours(bad)


def test_parse_weekdays():
    assert parse_weekdays("sat-mon") == frozenset({5, 6, 0})
    assert parse_weekdays("fredag,lör") == frozenset({4, 5})
    with pytest.raises(InputError, match="--weekdays"):
        parse_weekdays("funday")


def test_when_table_local_weekday_hour_and_area():
    inc = frame(DST_TIMES, xy=np.c_[X0 + np.arange(11) * 10.0, np.full(11, Y0)])
    t = when_table(inc)
    assert t["weekday"].tolist() == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert int(t["total"].sum()) == 11
    sat = t.set_index("weekday").loc["sat"]
    assert (sat["h22"], sat["h21"]) == (2, 1)  # incidents 0 and 6 at 22, 5 at 21
    sun = t.set_index("weekday").loc["sun"]
    assert sun["h02"] == 2 and sun["h03"] == 1 and sun["h05"] == 2 and sun["h06"] == 2
    area = Polygon([(X0 - 1, Y0 - 1), (X0 + 30, Y0 - 1), (X0 + 30, Y0 + 1), (X0 - 1, Y0 + 1)])
    a = when_table(inc, area=area, weights=np.arange(11.0))
    # incidents 0..3 are inside (x ≤ 30, edge included): weights 0+1+2+3
    assert a["total"].sum() == pytest.approx(6.0)


# ------------------------------------------------------------------ Mann-Kendall and classes


def test_mann_kendall_on_paper_with_ties():
    # [1, 1, 2]: S = 0 + 1 + 1 = 2; one tie group of 2:
    # Var = (3·2·11 − 2·1·9)/18 = 48/18; Z = (2 − 1)/√(48/18)
    s, z, p = mann_kendall(np.array([1.0, 1.0, 2.0]))
    assert s[0] == 2
    assert z[0] == pytest.approx(1 / math.sqrt(48 / 18))
    assert p[0] == pytest.approx(2 * stats.norm.sf(z[0]))


def test_mann_kendall_s_matches_kendall_tau():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(24, 50)).cumsum(axis=0)
    s, z, _ = mann_kendall(x)
    t = np.arange(24)
    for j in range(50):
        tau = stats.kendalltau(t, x[:, j]).statistic
        assert s[j] == pytest.approx(tau * 24 * 23 / 2)
    assert np.all(np.sign(z) == np.sign(s))


def test_classes_follow_the_documented_rules():
    cells = {
        "new (one final slice)": ([0] * 9 + [1], 0, "new"),
        "new (final run, ArcGIS consecutive)": ([0] * 6 + [1] * 4, 0, "new"),
        "intensifying": ([1] * 10, 1, "intensifying"),
        "diminishing": ([0] + [1] * 9, -1, "diminishing"),  # 90 % including final
        "persistent": ([1] * 9 + [1], 0, "persistent"),
        "historical": ([1] * 9 + [0], 0, "historical"),
        "sporadic": ([1, 0, 0, 1, 0, 0, 0, 0, 0, 1], 0, "sporadic"),
        "no pattern": ([1, 1, 0, 1, 0, 0, 0, 0, 0, 0], 0, "none"),
        "never": ([0] * 10, 0, "none"),
        "80 % hot, final run, trend up": ([0, 0] + [1] * 8, 1, "new"),
    }
    hot = np.array([c[0] for c in cells.values()], bool).T
    trend = np.array([c[1] for c in cells.values()])
    got = classify_series(hot, trend).tolist()
    assert got == [c[2] for c in cells.values()]


def _months_frame(monthly_counts, where):
    """Incidents at ``where`` with the given count per month from 2024-01, plus noise."""
    rng = np.random.default_rng(11)
    times, xy = [], []
    for m, k in enumerate(monthly_counts):
        start = pd.Timestamp(2024 + m // 12, m % 12 + 1, 10, 12, tz="UTC")
        times += [start] * k
        xy += [where] * k
        # background: 30 uniform incidents per month over 3 × 3 km
        times += [start] * 30
        xy += list(np.c_[rng.uniform(X0, X0 + 3000, 30), rng.uniform(Y0, Y0 + 3000, 30)])
    return frame(times, xy=np.array(xy))


def test_emerging_new_and_persistent_on_synthetic_months():
    t_n = 12
    new = _months_frame([0] * (t_n - 1) + [25], (X0 + 500, Y0 + 500))
    r = emerging_hotspots(new, cell_m=150, extent=(X0, Y0, X0 + 3000, Y0 + 3000))
    ix, iy, _ = r.grid.cell_of(np.array([X0 + 500.0]), np.array([Y0 + 500.0]))
    assert r.category[iy[0], ix[0]] == "new"
    steady = _months_frame([25] * t_n, (X0 + 500, Y0 + 500))
    r = emerging_hotspots(steady, cell_m=150, extent=(X0, Y0, X0 + 3000, Y0 + 3000))
    assert r.category[iy[0], ix[0]] in ("persistent", "intensifying", "diminishing")
    assert r.hot_slices[iy[0], ix[0]] == t_n
    rising = _months_frame([12 + 4 * m for m in range(t_n)], (X0 + 500, Y0 + 500))
    r = emerging_hotspots(rising, cell_m=150, extent=(X0, Y0, X0 + 3000, Y0 + 3000))
    assert r.category[iy[0], ix[0]] == "intensifying"
    assert r.frame()["trend"].isin(["up", "down", "none"]).all()


def test_emerging_needs_enough_months():
    inc = frame(["2024-01-05T12:00Z", "2024-03-05T12:00Z"])
    with pytest.raises(AnalysisError, match="at least 6 monthly slices"):
        emerging_hotspots(inc, cell_m=100)


# ------------------------------------------------------------------ real data (Toronto)



def test_toronto_downtown_density_matches_exact_kde_and_esda():
    from esda.getisord import G_Local
    from libpysal.weights import DistanceBand

    inc = toronto_in_stockholm(downtown=True)
    assert len(inc) > 30_000
    assert inc.geometry.duplicated().mean() > 0.5  # intersection-snapped: heavy ties
    r = density_grid(inc, cell_m=100, bandwidth_m=150)
    assert r.count.sum() == len(inc) and r.left_out_imprecise == 0
    # exact KDE at a random sample of 1500 cell centres (relative error ≤ 1 %)
    rng = np.random.default_rng(1)
    flat = rng.choice(r.grid.size, 1500, replace=False)
    xx, yy = np.meshgrid(r.grid.xs, r.grid.ys)
    x = inc.geometry.x.to_numpy()
    y = inc.geometry.y.to_numpy()
    exact = kde_direct(x, y, np.ones(len(x)), xx.ravel()[flat], yy.ravel()[flat],
                       bandwidth_m=150)
    approx = r.density.ravel()[flat]
    m = exact >= 1e-9 * r.density.max()
    assert np.max(np.abs(approx[m] - exact[m]) / exact[m]) <= 0.01
    # Gi* equals esda's G_Local(star=True) on the same binary distance band
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = DistanceBand(np.c_[xx.ravel(), yy.ravel()], threshold=300.0 * (1 + 1e-9),
                         binary=True, silence_warnings=True)
        ref = G_Local(r.count.ravel().astype(float), w, transform="B", star=True,
                      permutations=0)
    np.testing.assert_allclose(r.gi_z.ravel(), ref.Zs, atol=1e-8)
    assert r.hot_cells > 0


def test_toronto_emerging_hotspots_over_eight_years():
    inc = toronto_in_stockholm(downtown=True)
    r = emerging_hotspots(inc, cell_m=250)
    assert len(r.months) >= 96
    summary = r.summary()
    assert sum(summary.values()) == r.grid.size
    # the busiest cell of downtown Toronto is a hot spot in (nearly) every month
    busiest = np.unravel_index(np.argmax(r.count), r.count.shape)
    assert r.category[busiest] in ("persistent", "intensifying", "diminishing")
    assert r.hot_slices[busiest] >= 0.9 * len(r.months)
