"""The sector-clipped sweep (geo.visibility.sector_visibility_polygons) against the
overlay it replaces, ``sector_polygons(...) ∩ visibility_polygons(...)``, and against
areas worked out on paper.

The overlay is computed by GEOS from polygons the old code path builds, so it is an
independent check of the direct construction. Both draw the arc with the same
vertices (every ≤ 1°), so they agree up to rounding (1e-9 relative here); against
the true circle the polygonal arc loses at most 1 − sin(Δ)/Δ ≈ 5·10⁻⁵ of a sector
(Δ = 1°), hence the looser bound against paper.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import Point, box

from geo.camera import LEVELS, camera_radii
from geo.coverage import camera_geometry, coverage, sector_polygons
from geo.visibility import (
    Obstacles,
    mount_viewpoints,
    sector_visibility_polygons,
    visibility_polygons,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from _scenes import city_blocks, street_points  # noqa: E402

#: the polygonal arc (a vertex every ≤ 1°) against the true circle
ARC_REL = 6e-5
#: the direct construction against the overlay: rounding only
SAME_REL = 1e-9


def overlay(xy, obs, az, fov, r_lv):
    """sector ∩ visibility as the old code computed it (GEOS overlay), (n, k)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    r_lv = np.asarray(r_lv, dtype=float).reshape(len(xy), -1)
    vis = visibility_polygons(xy, obs, radius_m=r_lv.max(axis=1))
    cols = []
    for li in range(r_lv.shape[1]):
        sec = sector_polygons(xy, azimuth_deg=az, fov_deg=fov, radius_m=r_lv[:, li])
        cols.append(shapely.intersection(sec, vis))
    return np.column_stack(cols)


def direct(xy, obs, az, fov, r_lv):
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    r_lv = np.asarray(r_lv, dtype=float).reshape(len(xy), -1)
    return sector_visibility_polygons(xy, obs, azimuth_deg=az, fov_deg=fov, radius_m=r_lv)


#: absolute slack (m²): GEOS's overlay of two polygons a few ulps apart (the fallback
#: for a viewpoint moved off an edge, at radii of a centimetre) differs by ~1e-9 m²
SAME_ABS_M2 = 1e-8


def assert_same(new, old, rel=SAME_REL):
    a_new, a_old = shapely.area(new), shapely.area(old)
    assert np.all(shapely.is_valid(new))
    assert np.allclose(a_new, a_old, rtol=rel, atol=SAME_ABS_M2)
    sym = shapely.area(shapely.symmetric_difference(new, old))
    assert np.all(sym <= rel * a_old + SAME_ABS_M2)


def one(obs, az, fov, r, xy=(0.0, 0.0)):
    new = direct([xy], obs, [az], [fov], [[r]])[0, 0]
    old = overlay([xy], obs, [az], [fov], [[r]])[0, 0]
    assert_same(np.array([new]), np.array([old]))
    return new


# ---------------------------------------------------------------- scenes on paper
@pytest.mark.parametrize(("az", "fov"), [(0.0, 90.0), (200.0, 60.0), (np.nan, 90.0),
                                         (10.0, 360.0)])
def test_no_building_in_range_is_the_sector(az: float, fov: float) -> None:
    obs = Obstacles([box(100, 100, 110, 110)])
    poly, clear = sector_visibility_polygons([[0, 0]], obs, azimuth_deg=[az], fov_deg=[fov],
                                             radius_m=[20.0], return_clearance=True)
    sec = sector_polygons([[0, 0]], azimuth_deg=[az], fov_deg=[fov], radius_m=[20.0])[0]
    assert clear[0] == np.inf
    assert poly[0].area == pytest.approx(sec.area, rel=1e-12)
    assert shapely.symmetric_difference(poly[0], sec).area < 1e-9
    want = math.pi * 400 * (1.0 if np.isnan(az) or fov >= 360 else fov / 360)
    assert poly[0].area == pytest.approx(want, rel=ARC_REL)


def test_wall_across_both_sector_rays() -> None:
    # facing east, 90°: the wall x = 5 meets the rays at ±45° at (5, ±5): a triangle
    obs = Obstacles([box(5, -20, 6, 20)])
    poly = one(obs, 90.0, 90.0, 50.0)
    assert poly.area == pytest.approx(25.0, rel=1e-9)
    assert poly.contains(Point(4, 0)) and not poly.intersects(Point(5.5, 0))


def test_building_straddling_one_sector_ray() -> None:
    # facing east, 90°, r = 50; a wall x ∈ [5, 6], y ∈ [0, 20]: the ray at 0° (inside
    # the sector) is its corner. South half: an eighth disc; north half: the triangle
    # (0, 0), (5, 0), (5, 5) up to the wall (the ray at 45° meets x = 5 at y = 5).
    obs = Obstacles([box(5, 0, 6, 20)])
    poly = one(obs, 90.0, 90.0, 50.0)
    assert poly.area == pytest.approx(math.pi * 2500 / 8 + 12.5, rel=ARC_REL)
    assert poly.contains(Point(30, -1)) and not poly.intersects(Point(30, 1))


def test_edge_crossing_the_circle_twice() -> None:
    # facing north, 90°, r = 10; the wall's edge y = 8 crosses the circle at x = ±6
    # (bearings ±36.9°, inside ±45°): quarter disc minus the segment beyond y = 8.
    obs = Obstacles([box(-20, 8, 20, 9)])
    poly = one(obs, 0.0, 90.0, 10.0)
    segment = 100 * math.acos(0.8) - 8 * 6
    assert poly.area == pytest.approx(math.pi * 100 / 4 - segment, rel=ARC_REL)
    assert poly.contains(Point(0, 7.9)) and not poly.intersects(Point(0, 8.1))
    assert poly.contains(Point(6.5, 7.0))  # beside the wall's reach, inside the circle


def test_edge_between_the_chords_and_the_circle() -> None:
    # facing north, 90°, r = 10: arc vertices at whole bearings, so the chords come
    # within 10·cos(0.5°) = 9.99962 m of the camera. A wall face at y = 9.9998 is
    # inside the circle but mostly beyond the chords: it clips only the thin
    # triangle around the arc vertex at bearing 0 (at 10 m), nothing else.
    obs = Obstacles([box(-0.05, 9.9998, 0.05, 12)])
    poly = one(obs, 0.0, 90.0, 10.0)
    sec = sector_polygons([[0, 0]], azimuth_deg=[0.0], fov_deg=[90.0], radius_m=[10.0])[0]
    lost = sec.area - poly.area
    # the triangle cut off by y = 9.9998 at the vertex (0, 10): its height 2e-4 m,
    # its base where that line meets the two chords (slope ±tan(0.5°) from (0, 10))
    base = 2 * 2e-4 / math.tan(math.radians(0.5))
    assert lost == pytest.approx(0.5 * base * 2e-4, rel=1e-3)


@pytest.mark.parametrize(("az", "fov"), [(np.nan, 90.0), (0.0, 360.0), (123.0, 400.0)])
def test_full_disc_camera(az: float, fov: float) -> None:
    # all round, r = 20, a box 5 m east hides the wedge behind its front edge x = 5
    obs = Obstacles([box(5, -1, 7, 1)])
    poly = one(obs, az, fov, 20.0)
    hidden = 400 * math.atan(0.2) - 5
    assert poly.area == pytest.approx(math.pi * 400 - hidden, rel=ARC_REL)
    assert len(poly.interiors) == 0 and poly.contains(Point(-19, 0))


def test_sector_across_north() -> None:
    # bearings 330°..10°; a box straight north spans bearings ±11.3° (past the 10° ray)
    obs = Obstacles([box(-1, 5, 1, 6), box(-30, -1, -29, 1)])
    poly = one(obs, 350.0, 40.0, 15.0)
    sec = sector_polygons([[0, 0]], azimuth_deg=[350.0], fov_deg=[40.0], radius_m=[15.0])[0]
    assert shapely.difference(poly, sec).area < 1e-9
    assert not poly.intersects(Point(0, 10)) and poly.contains(Point(-3, 10))
    # what is missing from the sector is the shadow: from y = 5 out, bearings -11.3..10
    shadow = sec.difference(poly)
    ang0, ang1 = math.radians(90 - 10), math.radians(90 + math.degrees(math.atan(0.2)))
    want = 0.5 * 225 * (ang1 - ang0) - 0.5 * 5 * (5 * math.tan(math.pi / 2 - ang0) + 1)
    assert shadow.area == pytest.approx(want, rel=1e-3)


def test_several_levels_one_sweep() -> None:
    obs = Obstacles([box(-3, 6, 3, 8), box(8, 20, 30, 22), box(-40, 30, -35, 60)])
    xy = np.array([[0.0, 0.0], [1.0, -2.0], [-20.0, 10.0]])
    r_lv = np.array([[4.0, 15.0, 40.0], [7.0, 7.0, 90.0], [0.0, 12.0, 45.0]])
    az, fov = [10.0, 0.0, np.nan], [120.0, 60.0, 360.0]
    new = direct(xy, obs, az, fov, r_lv)
    assert_same(new, overlay(xy, obs, az, fov, r_lv))
    assert new.shape == (3, 3)
    a = shapely.area(new)
    assert np.all(np.diff(a, axis=1) >= -1e-9)  # a larger radius sees at least as much
    assert new[2, 0].is_empty


def test_zero_radius_and_zero_fov_are_empty() -> None:
    obs = Obstacles([box(-3, 6, 3, 8)])
    new = direct([[0, 0], [0, 0], [0, 0]], obs, [0.0, 0.0, 0.0], [90.0, 0.0, 90.0],
                 [[0.0], [10.0], [np.nan]])
    assert all(p.is_empty for p in new[:, 0])


def test_below_clearance_is_the_plain_sector() -> None:
    obs = Obstacles([box(-3, 10, 3, 12)])
    new, clear = sector_visibility_polygons([[0, 0]], obs, azimuth_deg=[30.0], fov_deg=[75.0],
                                            radius_m=[[6.0, 30.0]], return_clearance=True)
    assert clear[0] == pytest.approx(10.0)
    sec = sector_polygons([[0, 0]], azimuth_deg=[30.0], fov_deg=[75.0], radius_m=[6.0])[0]
    assert shapely.symmetric_difference(new[0, 0], sec).area < 1e-9
    assert new[0, 1].area < sector_polygons([[0, 0]], azimuth_deg=[30.0], fov_deg=[75.0],
                                            radius_m=[30.0])[0].area - 1


def test_viewpoint_on_an_edge_keeps_its_apex() -> None:
    # given on the wall's face: seen from 1 cm in front, the sector's apex stays put
    obs = Obstacles([box(-5, 5, 5, 6)])
    new = direct([[0, 5]], obs, [180.0], [90.0], [[10.0]])
    old = overlay([[0, 5]], obs, [180.0], [90.0], [[10.0]])
    assert_same(new, old)
    assert new[0, 0].area == pytest.approx(math.pi * 100 / 4, rel=ARC_REL)


def test_facade_camera_in_coverage_is_the_overlay() -> None:
    # 0.5 m inside the north facade of a 20 × 10 building, facing north-east
    b = box(0, 0, 20, 10)
    cams = gpd.GeoDataFrame({"id": ["F"], "height_m": [4.0], "azimuth_deg": [45.0],
                             "fov_deg": [120.0]}, geometry=[Point(19.0, 9.5)], crs=3006)
    blds = gpd.GeoDataFrame(geometry=[b, box(25, 12, 30, 30)], crs=3006)
    cov = coverage(cams, blds, levels=["observe", "visible"])
    obs = Obstacles(blds.geometry.to_numpy())
    xy = np.array([[19.0, 9.5]])
    view = mount_viewpoints(xy, obs)
    assert np.hypot(*(view - xy)[0]) > 0.4
    r = cov["radius_m"].to_numpy()
    vis = visibility_polygons(view, obs, radius_m=r.max())[0]
    for li in range(2):
        sec = sector_polygons(xy, azimuth_deg=[45.0], fov_deg=[120.0], radius_m=[r[li]])[0]
        want = shapely.intersection(sec, vis)
        got = cov.geometry.iloc[li]
        assert got.area == pytest.approx(want.area, rel=SAME_REL)
        assert shapely.symmetric_difference(got, want).area < 1e-9


# ---------------------------------------------------------------- random scenes
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_city_scene_matches_the_overlay(seed: int) -> None:
    bld = city_blocks(144, seed=seed)
    cams = street_points(bld, 120, seed=seed + 10, prefix="C")
    obs = Obstacles(bld.geometry.to_numpy())
    xy, az, fov = camera_geometry(cams)
    r_lv = camera_radii(cams, levels=LEVELS).to_numpy()
    new = direct(xy, obs, az, fov, r_lv)
    assert_same(new, overlay(xy, obs, az, fov, r_lv))
    assert (shapely.area(new[:, -1]) > 0).all()


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list, tuple[float, float], float, float, list[float]]:
    polys = []
    for _ in range(draw(st.integers(0, 7))):
        x, y = draw(st.floats(-40, 40)), draw(st.floats(-40, 40))
        w, h = draw(st.floats(0.5, 25)), draw(st.floats(0.5, 25))
        p = shapely.affinity.rotate(box(x, y, x + w, y + h), draw(st.floats(0, 180)),
                                    origin="centroid")
        if draw(st.booleans()):  # an L-shape or a courtyard: non-convex
            p = p.difference(p.centroid.buffer(min(w, h) / 3, quad_segs=2))
        polys.append(p)
    cam = (draw(st.floats(-45, 45)), draw(st.floats(-45, 45)))
    az = draw(st.one_of(st.floats(-400, 720), st.just(float("nan"))))
    fov = draw(st.one_of(st.floats(0.5, 359.9), st.just(360.0)))
    # (radii below 1e-8 m are left out: the overlay's own sweep fails on them)
    radii = draw(st.lists(st.one_of(st.just(0.0), st.floats(0.01, 80)), min_size=1,
                          max_size=3))
    on_edge = draw(st.one_of(st.none(), st.floats(0, 1))) if polys else None
    return polys, cam, az, fov, radii, on_edge


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes())
def test_random_scenes_match_the_overlay(scene: tuple) -> None:
    polys, cam, az, fov, radii, on_edge = scene
    obs = Obstacles(polys)
    xy = np.array([cam])
    if on_edge is not None:  # on a footprint's edge: seen from 1 cm out, apex kept
        ring = obs.parts[0].exterior
        xy = shapely.get_coordinates(ring.interpolate(on_edge, normalized=True))
    elif polys and shapely.intersects(shapely.union_all(polys), Point(cam)):
        xy = mount_viewpoints(xy, obs, tolerance_m=1e9)  # outside every footprint
    r_lv = np.array([radii])
    new = direct(xy, obs, [az], [fov], r_lv)
    assert_same(new, overlay(xy, obs, [az], [fov], r_lv))
