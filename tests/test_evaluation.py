"""Before/after evaluation (geo.evaluation): counts and figures you can check by hand.

Scene: treated area A = the 100 m square (0,0)-(100,100), ring 50 m wide around it,
control = everything else (or a given box far away). Start 2024-01-01 (local), 12 months:
before = 2023, after = 2024, in Stockholm time.
"""

from __future__ import annotations

import math

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
