"""Camera documentation (geo.camera_docs): register, masks, weighing basis.

Every scene can be drawn on paper: a camera at the origin facing north (90°, 1920 px,
4 m up: observe reaches 15.171 m, detect and so ``visible`` 38.325 m), walls in front
of it, sensitive features behind and beside them. Expected directions are bearings
worked out by hand (0 = north, clockwise).
"""

from __future__ import annotations

import math
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Point, box

from geo.camera_docs import (
    MASK_COLUMNS,
    REGISTER_COLUMNS,
    azimuth_range,
    bearing_deg,
    camera_docs,
    camera_register,
    keep_until,
    mask_regions,
    seen_parts,
)
from geo.coverage import coverage
from geo.errors import AnalysisError, InputError

OBSERVE_R = math.sqrt((1920 / (2 * 62.5)) ** 2 - 2.4**2)  # 15.1714 m
DETECT_R = math.sqrt((1920 / (2 * 25.0)) ** 2 - 2.4**2)  # 38.3249 m


def deg(v: float) -> float:
    return math.degrees(v) % 360.0


def circ(a: float, b: float) -> float:
    """Circular difference of two directions (degrees)."""
    d = (a - b) % 360.0
    return min(d, 360.0 - d)


def cams(**extra: list) -> gpd.GeoDataFrame:
    data = {"id": ["K1"], "height_m": [4.0], "azimuth_deg": [0.0], "fov_deg": [90.0],
            "resolution_px": [1920]}
    data.update(extra)
    return gpd.GeoDataFrame(data, geometry=[Point(0, 0)], crs=3006)


def frame(geoms: list, **cols: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=3006)


# -- azimuth_range on its own ------------------------------------------------------------


def test_bearings_by_hand() -> None:
    b = bearing_deg([1, 1], [[1, 2], [2, 2], [2, 1], [1, 0], [0, 1]])
    assert b.tolist() == pytest.approx([0, 45, 90, 180, 270])


@pytest.mark.parametrize(
    ("geom", "expected"),
    [
        (box(10, -10, 20, 10), (45.0, 135.0)),  # east
        (box(-10, 10, 10, 20), (315.0, 45.0)),  # across north: from > to
        (box(-20, -10, -10, 10), (225.0, 315.0)),  # west
        (Point(3, -3), (135.0, 135.0)),  # a point: one direction
        (shapely.LineString([(-5, 5), (5, 5)]), (315.0, 45.0)),
    ],
)
def test_azimuth_range_by_hand(geom: shapely.Geometry, expected: tuple[float, float]) -> None:
    frm, to = azimuth_range([0, 0], geom)
    assert circ(frm, expected[0]) < 1e-9 and circ(to, expected[1]) < 1e-9


def test_azimuth_range_line_through_the_viewpoint() -> None:
    # seen in two opposite directions only: the smallest range holding both is half the
    # circle (either half)
    frm, to = azimuth_range([0, 0], shapely.LineString([(0, -5), (0, 5)]))
    assert {frm, to} == {0.0, 180.0}


def test_azimuth_range_full_circle_and_nothing() -> None:
    assert azimuth_range([0, 0], box(-1, -1, 1, 1)) == (0.0, 360.0)
    # a ring (courtyard) around the viewpoint: every direction too
    ring = box(-10, -10, 10, 10).difference(box(-5, -5, 5, 5))
    assert azimuth_range([0, 0], ring) == (0.0, 360.0)
    assert azimuth_range([0, 0], shapely.Polygon()) is None
    assert azimuth_range([0, 0], Point(0, 0)) is None


def test_azimuth_range_two_pieces_closes_the_smaller_gap() -> None:
    # pieces at bearings 80..100 and 260..280: the gaps are 160° each way except the
    # range must hold both; add a third piece at 350..10 so the largest gap is 100..260
    geom = shapely.union_all([
        shapely.Polygon([(0, 0.1), (10, math.tan(math.radians(10)) * 10),
                         (10, -math.tan(math.radians(10)) * 10)]).difference(
            shapely.Point(0, 0).buffer(1)),
        shapely.Polygon([(0, 0.1), (-10, math.tan(math.radians(10)) * 10),
                         (-10, -math.tan(math.radians(10)) * 10)]).difference(
            shapely.Point(0, 0).buffer(1)),
        box(-1, 20, 1, 30),
    ])
    frm, to = azimuth_range([0, 0], geom)
    # the largest gap is 100°..260° (160°), so the range is 260 -> 100 across north
    assert circ(frm, 260.0) < 1e-6 and circ(to, 100.0) < 1e-6


# -- scene 1: a wall in front, a school half in view ------------------------------------

# its front face y = 10 from x = -5 to 0; its east side slants back (not edge-on to
# the shadow ray through (0, 10)); perimeter 5 + sqrt(5) + 4 + 2
WALL = shapely.Polygon([(-5, 10), (0, 10), (-1, 12), (-5, 12)])


def scene_school() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    buildings = frame([WALL])
    # the schoolyard x -10..10, y 20..30: the shadow of the wall is bearings
    # atan2(-5, 10) = -26.57° .. 0°, so the west half (x < 0) is hidden, the east
    # half box(0, 20, 10, 30) is seen (within 38.3 m, within ±45°)
    sensitive = frame([box(-10, 20, 10, 30), WALL, Point(-2, 15), Point(-2, 12),
                       Point(-2, 10)],
                      kind=["school", "residential", "entrance", "entrance", "entrance"],
                      name=["Skolgården", "Huset", "bakom", "baksidan", "framsidan"])
    return cams(), buildings, sensitive


def test_school_half_in_view_mask_by_hand() -> None:
    cameras, buildings, sensitive = scene_school()
    reg, masks = camera_register(cameras, buildings=buildings, sensitive=sensitive)
    assert list(masks.columns) == list(MASK_COLUMNS)
    by_idx = masks.set_index("sensitive_index")
    # the school: seen part box(0, 20, 10, 30): from the shadow line (bearing 0) to the
    # corner (10, 20): atan(10/20) = 26.5651°; nearest (0, 20) at 20 m, farthest
    # (10, 30) at sqrt(1000) = 31.623 m
    school = by_idx.loc[0]
    assert school["kind"] == "school"
    assert circ(school["azimuth_from_deg"], 0.0) <= 1e-4
    assert school["azimuth_to_deg"] == pytest.approx(deg(math.atan2(10, 20)), abs=1e-4)
    assert school["distance_min_m"] == pytest.approx(20.0, abs=1e-3)
    assert school["distance_max_m"] == pytest.approx(math.sqrt(1000), abs=1e-3)
    # the wall itself as a residential building: its front facade is seen, from the
    # corner (-5, 10) at -26.5651° to (0, 10) at 0°: across north
    wall = by_idx.loc[1]
    assert wall["azimuth_from_deg"] == pytest.approx(360 + deg(math.atan2(-5, 10)) - 360,
                                                     abs=1e-4)
    assert wall["azimuth_from_deg"] > wall["azimuth_to_deg"] or circ(
        wall["azimuth_to_deg"], 0.0) <= 1e-4
    assert circ(wall["azimuth_to_deg"], 0.0) <= 1e-4
    assert wall["distance_min_m"] == pytest.approx(10.0, abs=1e-3)
    assert wall["distance_max_m"] == pytest.approx(math.hypot(5, 10), abs=1e-3)
    # entrances: behind the wall (-2, 15) and on its back (-2, 12) are not in view; the
    # one on its front facade (-2, 10) is, at bearing atan2(-2, 10) and 10.198 m
    assert 2 not in by_idx.index and 3 not in by_idx.index
    front = by_idx.loc[4]
    assert front["azimuth_from_deg"] == pytest.approx(deg(math.atan2(-2, 10)), abs=1e-4)
    assert front["azimuth_to_deg"] == front["azimuth_from_deg"]
    assert front["distance_min_m"] == pytest.approx(math.hypot(2, 10), abs=1e-3)
    assert reg["sensitive_in_view"].tolist() == [3]


def test_school_seen_share_level_and_facade_length() -> None:
    cameras, buildings, sensitive = scene_school()
    docs = camera_docs(cameras, buildings=buildings, sensitive=sensitive)
    rows = {r["sensitive_index"]: r for r in docs.bases[0].privacy}
    # half of the 20 x 10 schoolyard, 20 m away: beyond observe (15.17 m), so detect
    assert rows[0]["seen_area_m2"] == pytest.approx(100.0, rel=1e-6)
    assert rows[0]["area_share"] == pytest.approx(0.5, rel=1e-6)
    assert rows[0]["finest_level"] == "detect"
    # the house: 5 m of its perimeter seen (the front), 10 m away: observe
    assert rows[1]["seen_area_m2"] == pytest.approx(0.0, abs=1e-4)
    assert rows[1]["seen_boundary_m"] == pytest.approx(5.0, abs=1e-4)
    assert rows[1]["boundary_share"] == pytest.approx(5 / (11 + math.sqrt(5)), abs=1e-5)
    assert rows[1]["finest_level"] == "observe"
    # nearest first
    assert [r["sensitive_index"] for r in docs.bases[0].privacy] == [1, 4, 0]


def test_masks_hide_what_they_mask() -> None:
    cameras, buildings, sensitive = scene_school()
    docs = camera_docs(cameras, buildings=buildings, sensitive=sensitive)
    b = docs.bases[0]
    assert b.after_masks["still_seen"] == 0
    # the masked regions are taken out of the visible polygon
    vis = docs.register.geometry.iloc[0]
    assert b.after_masks["visible_area_m2"] < vis.area
    regions = b.map["masks"]
    assert len(regions) == 3
    # each region holds its seen part
    for part, region in zip(b.map["parts"], regions, strict=True):
        assert region.buffer(1e-6).covers(part)


def test_mask_regions_annular_sector() -> None:
    m = pd.DataFrame({"camera": [0], "azimuth_from_deg": [0.0], "azimuth_to_deg": [90.0],
                      "distance_min_m": [10.0], "distance_max_m": [20.0]})
    r = mask_regions([[0.0, 0.0]], m)[0]
    ring_quarter = math.pi * (20**2 - 10**2) / 4
    # it holds the quarter ring, and little more (1° chords, 0.0001° and 1 mm margins)
    assert ring_quarter <= r.area <= ring_quarter * 1.0005
    assert r.contains(Point(10, 10)) and not r.contains(Point(5, 5))
    assert not r.contains(Point(-1, 15))
    assert r.contains(Point(20 * math.cos(math.radians(1)) * 0.99999,
                            20 * math.sin(math.radians(1)) * 0.99999))


# -- scene 3: a 360° camera and a feature straddling north --------------------------------


def test_all_round_camera_feature_across_north_by_hand() -> None:
    # 7680 px all round: detect reaches sqrt((7680 / (2π · 25))² − 2.4²) = 48.8 m
    cameras = gpd.GeoDataFrame({"id": ["R"], "resolution_px": [7680]},
                               geometry=[Point(0, 0)], crs=3006)
    # no azimuth: all round; a block of flats north of it, x -3..6, y 8..12, and a
    # kiosk in front whose shadow (bearings ±11.31°) splits what is seen in two
    kiosk = box(-1, 5, 1, 6)
    flats = box(-3, 8, 6, 12)
    reg, masks = camera_register(cameras, buildings=frame([kiosk]),
                                 sensitive=frame([flats], kind=["residential"]))
    assert reg["fov_deg"].tolist() == [360.0]
    (row,) = masks.to_dict("records")
    # from the corner (-3, 8) at atan2(-3, 8) = -20.556° = 339.444° clockwise to the
    # corner (6, 8) at atan2(6, 8) = 36.870°: across north
    assert row["azimuth_from_deg"] == pytest.approx(deg(math.atan2(-3, 8)), abs=1e-4)
    assert row["azimuth_to_deg"] == pytest.approx(deg(math.atan2(6, 8)), abs=1e-4)
    assert row["azimuth_from_deg"] > row["azimuth_to_deg"]
    # nearest seen point: (-1.6, 8) on the shadow ray x = -y/5; farthest (6, 12)
    assert row["distance_min_m"] == pytest.approx(math.hypot(1.6, 8), abs=1e-3)
    assert row["distance_max_m"] == pytest.approx(math.hypot(6, 12), abs=1e-3)


def test_masks_agree_with_a_ray_fan_on_random_scenes() -> None:
    """Independent check: rays every 0.05° from the viewpoint; every direction in which
    a ray meets a seen part lies in the mask, and the mask's ends are met."""
    rng = np.random.default_rng(7)
    for _ in range(6):
        blds = [box(x, y, x + w, y + h) for x, y, w, h in
                zip(rng.uniform(-30, 25, 6), rng.uniform(-30, 25, 6), rng.uniform(2, 6, 6),
                    rng.uniform(2, 6, 6), strict=True)]
        blds = [b for b in blds if b.distance(Point(0, 0)) > 2]
        sens = [Point(x, y).buffer(r, quad_segs=4) for x, y, r in
                zip(rng.uniform(-30, 30, 8), rng.uniform(-30, 30, 8), rng.uniform(1, 5, 8),
                    strict=True)]
        sens = [s for s in sens if s.distance(Point(0, 0)) > 1]
        cameras = gpd.GeoDataFrame({"id": ["A"], "azimuth_deg": [rng.uniform(0, 360)],
                                    "fov_deg": [rng.uniform(60, 300)]},
                                   geometry=[Point(0, 0)], crs=3006)
        sensitive = frame(sens, kind=["x"] * len(sens))
        docs = camera_docs(cameras, buildings=frame(blds), sensitive=sensitive)
        vis = docs.register.geometry.iloc[0]
        angles = np.arange(0, 360, 0.05)
        rad = np.radians(90 - angles)
        rays = shapely.linestrings(np.stack([np.zeros((len(angles), 2)),
                                             np.stack([100 * np.cos(rad), 100 * np.sin(rad)], 1)],
                                            axis=1))
        for m in docs.masks.to_dict("records"):
            seen = sensitive.geometry.iloc[m["sensitive_index"]].intersection(vis)
            if seen.area < 1e-2:
                continue
            hit = angles[shapely.intersects(rays, seen)]
            frm, to = m["azimuth_from_deg"], m["azimuth_to_deg"]
            inside = (hit - frm) % 360 <= (to - frm) % 360 + 1e-6
            assert inside.all()
            # the ends of the range are met by rays within 0.05°
            assert min(circ(h, frm) for h in hit) < 0.051
            assert min(circ(h, to) for h in hit) < 0.051


# -- the register -----------------------------------------------------------------------


def test_register_columns_counts_and_carried_columns() -> None:
    cameras = gpd.GeoDataFrame(
        {"id": ["K1", "K2"], "height_m": [4.0, 4.0], "azimuth_deg": [0.0, 180.0],
         "fov_deg": [90.0, 90.0], "resolution_px": [1920, 1920], "purpose": ["brott", "trygghet"],
         "owner": ["Kommunen", "Kommunen"], "installed": ["2025-03-01", "2025-04-01"],
         "ends": ["2027-06-30", None], "retention_days": [14, 30]},
        geometry=[Point(0, 0), Point(0, -100)], crs=3006)
    # incidents 10 m north of K1 (in observe), one 30 m north (detect only), one south
    inc = gpd.GeoDataFrame(
        {"time": pd.to_datetime(["2025-06-01T20:30Z",  # 22:30 summer time: night
                                 "2025-06-01T19:30Z",  # 21:30: not night
                                 "2025-01-10T03:00Z",  # 04:00 winter time: night
                                 "2025-01-10T03:00Z"], utc=True),
         "category": ["Rån", "Misshandel", "Rån", "Rån"],
         "precision": ["point", "street", "point", "municipality"]},
        geometry=[Point(0, 10), Point(1, 12), Point(0, 30), Point(0, 11)], crs=3006)
    reg, masks = camera_register(cameras, incidents=inc)
    assert list(reg.columns[: len(REGISTER_COLUMNS)]) == list(REGISTER_COLUMNS)
    assert reg["id"].tolist() == ["K1", "K2"]
    assert reg[["x", "y"]].values.tolist() == [[0.0, 0.0], [0.0, -100.0]]
    # the municipality-precision incident at (0, 11) does not count
    assert reg["incidents_in_view"].tolist() == [2, 0]
    assert reg["incidents_in_view_night"].tolist() == [1, 0]
    assert reg["purpose"].tolist() == ["brott", "trygghet"]
    assert reg["retention_days"].tolist() == [14, 30]
    assert reg["keep_until"].iloc[0] == "2032-06-30" and pd.isna(reg["keep_until"].iloc[1])
    cov = coverage(cameras)
    for lv in ("identify", "recognize", "observe", "detect", "visible"):
        assert reg[f"{lv}_area_m2"].tolist() == pytest.approx(
            cov[cov["level"] == lv]["area_m2"].tolist())
    # observe = a quarter disc of radius 15.171 m (1° chords)
    assert reg["observe_area_m2"].iloc[0] == pytest.approx(math.pi * OBSERVE_R**2 / 4, rel=1e-4)
    assert reg.geometry.iloc[0].area == pytest.approx(math.pi * DETECT_R**2 / 4, rel=1e-4)
    assert len(masks) == 0
    # at detect the third incident is in view too
    reg_d, _ = camera_register(cameras, incidents=inc, level="detect")
    assert reg_d["incidents_in_view"].tolist() == [3, 0]
    assert reg_d["incidents_in_view_night"].tolist() == [2, 0]


def test_register_without_incidents_has_empty_counts() -> None:
    reg, _ = camera_register(cams())
    assert reg["incidents_in_view"].isna().all()


def test_keep_until_five_years_after_ends() -> None:
    assert keep_until(pd.Series(["2026-12-31", "", None, pd.Timestamp("2030-01-02")])).tolist() == [
        date(2031, 12, 31), None, None, date(2035, 1, 2)]
    with pytest.raises(InputError, match=r"kam\.geojson: feature 1: 'ends' is not a date"):
        keep_until(pd.Series(["2026-01-01", "snart"]), source="kam.geojson")


# -- the weighing basis -------------------------------------------------------------------


def test_surveillance_interest_by_hand() -> None:
    # six incidents 10 m in front (in view), two in the ring (within 200 m of the
    # observe polygon), one far away
    times = ["2025-01-05T23:00Z", "2025-01-20T08:00Z", "2025-02-03T12:00Z",
             "2025-02-04T17:30Z", "2025-03-01T21:30Z", "2025-03-02T07:00Z",
             "2025-03-05T12:00Z", "2025-03-06T12:00Z", "2025-03-10T12:00Z"]
    cats = ["Rån", "Rån", "Misshandel", "Rån", "Skadegörelse", "Misshandel",
            "Rån", "Rån", "Rån"]
    pts = [Point(0, 10)] * 6 + [Point(0, 100), Point(0, -100), Point(5000, 5000)]
    inc = gpd.GeoDataFrame({"time": pd.to_datetime(times, utc=True), "category": cats},
                           geometry=pts, crs=3006)
    docs = camera_docs(cams(), incidents=inc)
    s = docs.bases[0].surveillance
    assert s is not None
    assert s["in_view"] == 6
    # local hours (winter, UTC+1): 00, 09, 13, 18, 22, 08
    assert s["bands"] == {"night": 2, "morning": 2, "day": 1, "evening": 1}
    assert s["by_category"][0] == {"category": "Rån", "total": 3, "night": 1, "morning": 1,
                                   "day": 0, "evening": 1}
    assert [c["category"] for c in s["by_category"]] == ["Rån", "Misshandel", "Skadegörelse"]
    assert s["months"] == [("2025-01", 2), ("2025-02", 2), ("2025-03", 2)]
    assert s["ring_count"] == 2
    assert s["share_of_surroundings"] == pytest.approx(6 / 8)
    assert s["share_of_all"] == pytest.approx(6 / 9)
    # density ratio: (6 / A) / (2 / ring area)
    lvl = docs.bases[0].map["level"]
    ring = lvl.buffer(200, quad_segs=32).difference(lvl)
    assert s["density_ratio"] == pytest.approx((6 / lvl.area) / (2 / ring.area), rel=1e-9)


def test_alternatives_narrower_fov_and_sites() -> None:
    inc = gpd.GeoDataFrame(
        {"time": pd.to_datetime(["2025-01-05T12:00Z"] * 3, utc=True),
         "category": ["Rån"] * 3},
        # one straight ahead, two 40° to the east of north (outside a 45° or 60° view)
        geometry=[Point(0, 10), Point(10 * math.sin(math.radians(40)),
                                      10 * math.cos(math.radians(40))),
                  Point(6, 8)], crs=3006)
    sites = gpd.GeoDataFrame({"id": ["S1", "S2", "S3"], "azimuth_deg": [0.0, 180.0, 0.0]},
                             geometry=[Point(0, -2), Point(0, 50), Point(500, 500)], crs=3006)
    docs = camera_docs(cams(), incidents=inc, sites=sites)
    b = docs.bases[0]
    assert [v["fov_deg"] for v in b.narrower] == [60.0, 45.0]
    # 60° (±30°): only the one straight ahead is in view; atan2(6, 8) = 36.9° is outside
    assert [v["in_view"] for v in b.narrower] == [1, 1]
    assert b.surveillance is not None and b.surveillance["in_view"] == 3
    # sites that see the same incidents: S1 (2 m behind, all three), S2 looks south from
    # 50 m: too far for observe; S3 far away: neither is listed
    assert b.sites is not None
    assert [s["id"] for s in b.sites] == ["S1"]
    assert b.sites[0]["shared"] == 3
    assert b.sites[0]["distance_m"] == pytest.approx(2.0)
    # per level, the incidents in view do not fall with coarser levels
    counts = [lv["in_view"] for lv in b.levels]
    assert counts == sorted(counts)


def test_bad_input_is_named() -> None:
    two = gpd.GeoDataFrame({"id": ["A", "A"]}, geometry=[Point(0, 0), Point(5, 5)], crs=3006)
    with pytest.raises(InputError, match=r"kam\.geojson: feature 1: duplicate id 'A'"):
        camera_register(two, sources={"cameras": "kam.geojson"})
    with pytest.raises(InputError, match=r"kam\.geojson: feature 0: .*inside a building"):
        camera_register(cams(), buildings=frame([box(-5, -5, 5, 5)]),
                        sources={"cameras": "kam.geojson"})
    with pytest.raises(AnalysisError, match="unknown level"):
        camera_register(cams(), level="watch")
    with pytest.raises(AnalysisError, match="--sites"):
        camera_docs(cams(), sites=cams())
    bad_ends = cams(ends=["next year"])
    with pytest.raises(InputError, match=r"feature 0: 'ends' is not a date"):
        camera_register(bad_ends)


def test_seen_parts_empty_inputs() -> None:
    out = seen_parts([], np.zeros((0, 2)), frame([Point(0, 0)], kind=["x"]))
    assert len(out) == 0
