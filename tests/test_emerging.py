"""Emerging hot spots (issue 19): the sixteen ArcGIS patterns and ``none``.

Scenes you can reason about: a 15 × 15 grid of 100 m cells with a busy, fixed background
(6–10 incidents per cell and month), and at its centre C either a 3 × 3 district with 40
extra incidents ("hot") or a 7 × 7 hole that empties out ("cold"), month by month.
"""

from __future__ import annotations

import io
import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from shapely import points

from geo.density import gi_star
from geo.errors import AnalysisError
from geo.trends import (
    COLD_PATTERNS,
    HOT_PATTERNS,
    PATTERN_LEGEND,
    PATTERNS,
    classify_patterns,
    emerging_cube,
    emerging_hotspots,
    mann_kendall,
    pattern_label,
    pattern_legend,
    space_time_gi_star,
)

X0, Y0 = 674_000.0, 6_580_000.0
N, C, T = 15, 7, 12


# ------------------------------------------------------------------ Mann–Kendall


def _s_by_hand(x):
    return sum(np.sign(x[j] - x[i]) for i, j in itertools.combinations(range(len(x)), 2))


@pytest.mark.parametrize("series", [
    [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0],
    [5.0, 1.0, 1.0, 1.0, 4.0, 4.0, 0.5, 2.0, 2.0, 7.0],
    [3.0, 2.5, 2.5, 2.0, 1.0, 1.0, 1.0, 1.0, 0.0, -1.0, -1.0, -2.0],
])
def test_mann_kendall_with_ties_matches_hand_and_scipy(series):
    x = np.array(series)
    n = len(x)
    s, z, p = mann_kendall(x)
    assert s[0] == _s_by_hand(x)
    # variance with ties by hand: groups of equal values
    _, sizes = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in sizes)) / 18
    want_z = (s[0] - np.sign(s[0])) / np.sqrt(var)
    assert z[0] == pytest.approx(want_z, rel=1e-12)
    assert p[0] == pytest.approx(2 * stats.norm.sf(abs(want_z)), rel=1e-12)
    # scipy's tau-b: S = tau·√(n0·(n0 − n_ties_x)), and its asymptotic p (no continuity
    # correction) uses the same tie-corrected variance when the times have no ties
    res = stats.kendalltau(np.arange(n), x, method="asymptotic")
    n0 = n * (n - 1) / 2
    n2 = sum(t * (t - 1) / 2 for t in sizes)
    assert s[0] == pytest.approx(res.statistic * np.sqrt(n0 * (n0 - n2)))
    sd = abs(s[0]) / stats.norm.isf(res.pvalue / 2)       # √Var S as scipy has it
    assert z[0] == pytest.approx(np.sign(s[0]) * (abs(s[0]) - 1) / sd, rel=1e-9)


def test_mann_kendall_of_a_constant_series_is_no_trend():
    s, z, p = mann_kendall(np.full((8, 1), 2.5))
    assert (s[0], z[0], p[0]) == (0, 0, 1)


# ------------------------------------------------------------------ classification rule

_ = 0
h, c = "h", "c"
#: hand-built series: per slice "h" hot, "c" cold, 0 neither; trend of z; the pattern
RULE_CASES = [
    ([_] * 9 + [h], 0, "new_hot"),
    ([c, c, c, _, _, _, _, _, _, h], 0, "new_hot"),          # new comes before oscillating
    ([_] * 7 + [h] * 3, 1, "consecutive_hot"),
    ([_] * 2 + [h] * 8, 1, "consecutive_hot"),              # 80 % < 90 %: not intensifying
    ([h] * 10, 1, "intensifying_hot"),
    ([_] + [h] * 9, 1, "intensifying_hot"),                 # exactly 90 %
    ([h] * 10, 0, "persistent_hot"),
    ([h, h, h, h, _, h, h, h, h, h], 0, "persistent_hot"),  # 90 %, not one run
    ([h] * 10, -1, "diminishing_hot"),
    ([h, c, _, h, _, _, _, _, _, h], 0, "oscillating_hot"),
    ([h, _, _, h, _, _, _, _, _, h], 0, "sporadic_hot"),
    ([h, h, _, h, _, _, _, _, h, h], 1, "sporadic_hot"),    # run at the end, but not the only
    ([h] * 9 + [_], 0, "historical_hot"),
    ([h] * 9 + [c], -1, "historical_hot"),                  # hot rules come first
    ([_] * 9 + [c], 0, "new_cold"),
    ([h] * 6 + [c] * 4, -1, "consecutive_cold"),
    ([c] * 10, -1, "intensifying_cold"),                    # z falling = intensifying cold
    ([c] * 10, 0, "persistent_cold"),
    ([c] * 10, 1, "diminishing_cold"),                      # z rising = diminishing cold
    ([c, _, h, _, c, _, _, _, _, c], 0, "oscillating_cold"),
    ([c, _, _, c, _, _, _, _, _, c], 0, "sporadic_cold"),
    ([c] * 9 + [_], 0, "historical_cold"),
    ([_] * 10, 0, "none"),
    ([h, h, _, h, _, _, _, _, _, _], 0, "none"),
    ([c, _, c, c, _, _, _, _, _, _], 1, "none"),
    ([h] * 8 + [_, _], 0, "none"),                          # 80 % and not final
]


def test_every_pattern_has_a_hand_built_case():
    assert {case[2] for case in RULE_CASES} == set(PATTERNS)
    assert len(PATTERNS) == 17 and PATTERNS[-1] == "none"


def test_classification_rule_on_hand_built_series():
    hot = np.array([[v == h for v in case[0]] for case in RULE_CASES]).T
    cold = np.array([[v == c for v in case[0]] for case in RULE_CASES]).T
    trend = np.array([case[1] for case in RULE_CASES])
    got = classify_patterns(hot, cold, trend).tolist()
    assert got == [case[2] for case in RULE_CASES]


def test_ninety_percent_is_compared_exactly():
    # n = 20: 18 hot slices is 90 % (persistent), 17 is not (sporadic: a gap before)
    n = 20
    s18 = np.ones(n, bool)
    s18[[3, 9]] = False
    s17 = s18.copy()
    s17[12] = False
    hot = np.c_[s18, s17]
    got = classify_patterns(hot, np.zeros_like(hot), np.array([0, 0])).tolist()
    assert got == ["persistent_hot", "sporadic_hot"]


# ------------------------------------------------------------------ scenes

BUSY, EMPTY = (40, None), (0, 0)      # a busy district; the hole empties out
BG = (0, None)                        # just the background


def background():
    ix, iy = np.meshgrid(np.arange(N), np.arange(N))
    return (6 + (7 * ix + 3 * iy) % 5).astype(float)


def cube(months):
    """Counts ``(T, N, N)``: per month (extra incidents in the 3 × 3 district, level of the
    7 × 7 hole or None)."""
    out = np.empty((len(months), N, N))
    for t, (extra, hole) in enumerate(months):
        cnt = background()
        if hole is not None:
            cnt[C - 3:C + 4, C - 3:C + 4] = hole
        cnt[C - 1:C + 2, C - 1:C + 2] += extra
        out[t] = cnt
    return out


def at(spec, **months):
    """Twelve months of background with the given months replaced."""
    seq = [BG] * T
    for kind, ts in months.items():
        for t in ts:
            seq[t] = {"busy": BUSY, "empty": EMPTY}[kind]
    return seq


LEVELS = [5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0]
SCENES = {
    # a district that appears only at the end
    "new_hot": at(None, busy=[11]),
    "consecutive_hot": at(None, busy=[9, 10, 11]),
    # a district whose counts rise (20, 25, … 75 extra incidents per cell)
    "intensifying_hot": [(20 + 5 * t, None) for t in range(T)],
    # a district that stays high
    "persistent_hot": [BUSY] * T,
    "diminishing_hot": [(75 - 5 * t, None) for t in range(T)],
    "oscillating_hot": at(None, busy=[2, 5, 8, 11], empty=[0, 6]),
    "sporadic_hot": at(None, busy=[1, 4, 8, 11]),
    "historical_hot": [BUSY] * (T - 1) + [BG],
    "new_cold": at(None, empty=[11]),
    # a busy district that empties out
    "consecutive_cold": [BUSY] * 8 + [EMPTY] * 4,
    # a hole that deepens, and one that fills up again
    "intensifying_cold": [(0, lv) for lv in LEVELS],
    # a hole in a busy background
    "persistent_cold": [EMPTY] * T,
    "diminishing_cold": [(0, lv) for lv in LEVELS[::-1]],
    "oscillating_cold": at(None, busy=[1, 5], empty=[3, 7, 11]),
    "sporadic_cold": at(None, empty=[2, 6, 11]),
    "historical_cold": [EMPTY] * (T - 1) + [BG],
    "none": at(None, busy=[1, 2]),
}


def test_the_scenes_cover_every_pattern():
    assert set(SCENES) == set(PATTERNS)


@pytest.mark.parametrize("expected", list(SCENES))
def test_scene_gives_its_pattern(expected):
    months = SCENES[expected]
    r = emerging_cube(cube(months), cell_m=100, hotspot_distance_m=300)
    # C is hot exactly in the busy months (and the rising/falling ones), cold exactly in the
    # months its hole is empty or low, neither in the background months
    busy = np.array([extra > 0 for extra, _ in months])
    hole = np.array([lv is not None for _, lv in months])
    assert r.hot[:, C, C].tolist() == busy.tolist()
    assert r.cold[:, C, C].tolist() == hole.tolist()
    assert r.pattern[C, C] == expected
    # the background far from C is no hot or cold spot in a month of background only
    quiet = [t for t, m in enumerate(months) if m == BG]
    if quiet:
        assert not r.hot[quiet].any() and not r.cold[quiet].any()


def test_trend_of_the_scenes_is_the_mann_kendall_of_the_z_series():
    # rising counts: strictly rising z, S = n(n−1)/2; a hole filling up two months at a
    # time: z rises in steps, six tied pairs, S = 66 − 6
    for months, want_s in ((SCENES["intensifying_hot"], 66), (SCENES["diminishing_cold"], 60)):
        r = emerging_cube(cube(months), cell_m=100, hotspot_distance_m=300)
        zc = r.z[:, C, C]
        assert np.all(np.diff(zc) >= 0)
        s, z, p = mann_kendall(zc)
        assert s[0] == _s_by_hand(zc) == want_s
        assert r.trend_z[C, C] == pytest.approx(z[0]) and r.trend_p[C, C] < 0.05
        z_single = gi_star(cube(months)[4], cell_m=100, distance_m=300)[0]
        np.testing.assert_allclose(r.z[4], z_single)   # each slice's Gi* on its own


# ------------------------------------------------------------------ end to end


MONTH0 = pd.Timestamp("2023-11-01")


def incidents_of(counts, month0=MONTH0):
    """Incidents at the cell centres, 12:00 local on the 15th of each month."""
    xs, ts = [], []
    t_n = counts.shape[0]
    for t in range(t_n):
        when = (month0 + pd.DateOffset(months=t) + pd.Timedelta(days=14, hours=12))
        iy, ix = np.nonzero(counts[t])
        k = counts[t][iy, ix].astype(int)
        xs.append(np.repeat(np.c_[X0 + 100 * ix + 50, Y0 + 100 * iy + 50], k, axis=0))
        ts += [when.tz_localize("Europe/Stockholm")] * int(k.sum())
    xy = np.concatenate(xs)
    return gpd.GeoDataFrame({"time": pd.DatetimeIndex(ts), "category": "Rån",
                             "precision": "point"}, geometry=points(xy), crs=3006)


def _town():
    """A 45 × 15 town, from left to right: a district that stays high, one that appears
    only at the end and a hole in the busy background; month 4 (2024-03) has no incident
    at all.

    (Gi* is relative to each month's town-wide mean and spread: a district that rises
    would make a steady one look *diminishing*, so the rising one has its own scene.)
    """
    counts = np.zeros((T, N, 3 * N))
    for j, key in enumerate(("persistent_hot", "new_hot", "persistent_cold")):
        counts[:, :, j * N:(j + 1) * N] = cube(SCENES[key])
    counts[4] = 0
    return counts


def test_emerging_hotspots_end_to_end_on_a_town():
    counts = _town()
    inc = incidents_of(counts)
    ext = (X0, Y0, X0 + 100 * 3 * N, Y0 + 100 * N)
    r = emerging_hotspots(inc, cell_m=100, extent=ext)
    assert r.months[0] == "2023-11" and r.months[-1] == "2024-10" and len(r.months) == T
    np.testing.assert_array_equal(r.count, counts.sum(axis=0))
    ref = emerging_cube(counts, cell_m=100, hotspot_distance_m=300)
    np.testing.assert_array_equal(r.pattern, ref.pattern)
    assert [r.pattern[C, C + j * N] for j in range(3)] == [
        "persistent_hot", "new_hot", "persistent_cold"]
    # the empty month is a slice: nobody is hot or cold in it, so the steady district is
    # hot in 11 of 12 slices (still ≥ 90 %) and the hole cold in 11
    assert (r.hot_slices[C, C], r.cold_slices[C, C + 2 * N]) == (T - 1, T - 1)
    assert r.hot_slices[C, C + N] == 1
    df = r.frame()
    for col in ("x", "y", "pattern", "hot_slices", "cold_slices", "slices", "trend_z",
                "trend_p", "category", "count", "final_z", "trend"):
        assert col in df.columns
    assert set(df["pattern"]) <= set(PATTERNS)
    assert (df["slices"] == T).all()
    row = df[(df.x == X0 + 100 * C + 50) & (df.y == Y0 + 100 * C + 50)].iloc[0]
    assert (row["pattern"], row["category"], row["hot_slices"], row["cold_slices"]) == (
        "persistent_hot", "persistent", T - 1, 0)
    assert sum(r.summary().values()) == r.grid.size
    assert list(r.summary()) == list(PATTERNS)


def test_cold_slices_end_to_end_on_a_hole():
    counts = cube(SCENES["consecutive_cold"])
    r = emerging_hotspots(incidents_of(counts), cell_m=100,
                          extent=(X0, Y0, X0 + 100 * N, Y0 + 100 * N))
    assert r.pattern[C, C] == "consecutive_cold"
    assert (r.hot_slices[C, C], r.cold_slices[C, C]) == (8, 4)
    assert r.category[C, C] == "none"         # the old hot-only class knows no cold spot


# ------------------------------------------------------------------ time window


def _gi_space_time_by_hand(counts, t, k, cell_m, distance_m):
    """Gi* of slice t over the window t−k+1..t by explicit neighbour lists."""
    lo = max(0, t - k + 1)
    win = counts[lo:t + 1]
    kk, ny, nx = win.shape
    vals = win.ravel()
    n = vals.size
    mean, sd = vals.mean(), vals.std()
    yy, xx = np.mgrid[0:ny, 0:nx]
    cx, cy = (xx.ravel() + 0.5) * cell_m, (yy.ravel() + 0.5) * cell_m
    z = np.zeros(ny * nx)
    for i in range(ny * nx):
        near = np.hypot(cx - cx[i], cy - cy[i]) <= distance_m + 1e-9
        w = np.tile(near, kk)                     # the same cells in every month of the window
        wi = w.sum()
        z[i] = (vals[w].sum() - mean * wi) / (sd * np.sqrt((n * wi - wi * wi) / (n - 1)))
    return z.reshape(ny, nx)


def test_time_window_gi_star_matches_explicit_neighbours():
    rng = np.random.default_rng(3)
    counts = rng.poisson(2.0, size=(5, 6, 7)).astype(float)
    counts[:, 2, 3] += np.arange(5) * 3
    z1, p1 = space_time_gi_star(counts, cell_m=50, distance_m=100, time_window=1)
    for t in range(5):
        np.testing.assert_allclose(z1[t], gi_star(counts[t], cell_m=50, distance_m=100)[0])
    z3, p3 = space_time_gi_star(counts, cell_m=50, distance_m=100, time_window=3)
    for t in range(5):
        np.testing.assert_allclose(z3[t], _gi_space_time_by_hand(counts, t, 3, 50, 100),
                                   atol=1e-12)
    np.testing.assert_allclose(p3, 2 * stats.norm.sf(np.abs(z3)))
    np.testing.assert_allclose(z3[0], z1[0])      # nothing before the first month


def test_time_window_in_emerging_hotspots():
    counts = cube(SCENES["sporadic_hot"])
    inc = incidents_of(counts)
    ext = (X0, Y0, X0 + 100 * N, Y0 + 100 * N)
    r1 = emerging_hotspots(inc, cell_m=100, extent=ext)
    assert r1.pattern[C, C] == "sporadic_hot" and r1.hot_slices[C, C] == 4
    r2 = emerging_hotspots(inc, cell_m=100, extent=ext, time_window=2)
    ref = emerging_cube(counts, cell_m=100, hotspot_distance_m=300, time_window=2)
    np.testing.assert_array_equal(r2.pattern, ref.pattern)
    # a busy month still weighs in the month after it: months 1, 2, 4, 5, 8, 9, 11 hot
    assert ref.hot[:, C, C].tolist() == [t in (1, 2, 4, 5, 8, 9, 11) for t in range(T)]
    assert r2.hot_slices[C, C] == 7 and r2.time_window == 2
    for bad in (0, -1, 1.5):
        with pytest.raises(AnalysisError, match="time window"):
            emerging_hotspots(inc, cell_m=100, extent=ext, time_window=bad)


# ------------------------------------------------------------------ legend


def _rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_legend_has_every_pattern_with_conventional_colours_and_both_languages():
    assert [s.pattern for s in PATTERN_LEGEND] == list(PATTERNS)
    for s in PATTERN_LEGEND:
        r, g, b = _rgb(s.colour)
        if s.pattern in HOT_PATTERNS:
            assert r > b and r > g, s
        elif s.pattern in COLD_PATTERNS:
            assert b > r and b > g, s
        else:
            assert r == g == b
    assert len({s.colour for s in PATTERN_LEGEND}) == 17
    assert len({s.sv for s in PATTERN_LEGEND}) == len({s.en for s in PATTERN_LEGEND}) == 17
    assert pattern_label("persistent_cold") == "Ihållande kall zon"
    assert pattern_label("persistent_cold", "en") == "Persistent cold spot"
    assert not any("spot" in s.sv.lower() or "hot" in s.sv.lower() for s in PATTERN_LEGEND)
    assert [row[0] for row in pattern_legend(present={"none", "new_cold", "new_hot"})] == [
        "new_hot", "new_cold", "none"]


# ------------------------------------------------------------------ CLI and API


def _scene_csv(tmp_path, key):
    inc = incidents_of(cube(SCENES[key]))
    f = tmp_path / f"{key}.csv"
    pd.DataFrame({"x": inc.geometry.x, "y": inc.geometry.y,
                  "time": inc["time"].dt.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "category": "Rån"}).to_csv(f, index=False)
    return f


def _cell_row(df):
    return df[(df.x == X0 + 100 * C + 50) & (df.y == Y0 + 100 * C + 50)].iloc[0]


def test_cli_time_window_and_layer_outputs(capsys, tmp_path):
    from api.cli import app
    from api.cli._common import run_app

    f = _scene_csv(tmp_path, "sporadic_hot")
    ext = f"{X0},{Y0},{X0 + 100 * N},{Y0 + 100 * N}"
    base = ["emerging-hotspots", "--incidents", str(f), "--crs", "EPSG:3006", "--extent", ext]
    assert run_app(app, [*base, "--out", str(tmp_path / "a.csv")]) == 0
    row = _cell_row(pd.read_csv(tmp_path / "a.csv"))
    assert (row["pattern"], row["hot_slices"], row["cold_slices"]) == ("sporadic_hot", 4, 0)
    assert run_app(app, [*base, "--time-window", "2", "--out", str(tmp_path / "b.gpkg")]) == 0
    layer = gpd.read_file(tmp_path / "b.gpkg")
    assert layer.crs.to_epsg() == 3006 and len(layer) == N * N
    ref = emerging_cube(cube(SCENES["sporadic_hot"]), cell_m=100, hotspot_distance_m=300,
                        time_window=2)
    assert layer["pattern"].tolist() == ref.pattern.ravel().tolist()
    assert layer.geometry.iloc[0].area == pytest.approx(100 * 100)
    out = capsys.readouterr().out
    assert "sporadic_hot" in " ".join(out.split())
    code = run_app(app, [*base, "--time-window", "0", "--out", str(tmp_path / "c.csv")])
    assert code == 2 and not (tmp_path / "c.csv").exists()


def test_api_time_window_and_formats(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.http.security import hash_token
    from api.settings import Settings

    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"reviewer {hash_token('r-token')} r\nplanner {hash_token('p-token')} p\n")
    client = TestClient(create_app(Settings(data_dir=tmp_path / "var", database_url="",
                                            tokens_file=tokens)))
    f = _scene_csv(tmp_path, "consecutive_cold")
    r = client.post("/datasets", headers={"Authorization": "Bearer p-token"},
                    data={"kind": "incidents", "name": "brott", "crs": "EPSG:3006"},
                    files={"file": (f.name, f.read_bytes())})
    assert r.status_code == 201, r.text
    head = {"Authorization": "Bearer r-token"}
    q = {"incidents": "brott", "extent": f"{X0},{Y0},{X0 + 100 * N},{Y0 + 100 * N}"}
    r = client.get("/analyses/emerging-hotspots", headers=head, params=q)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    row = _cell_row(pd.read_csv(io.StringIO(r.text)))
    assert (row["pattern"], row["hot_slices"], row["cold_slices"]) == ("consecutive_cold", 8, 4)
    r = client.get("/analyses/emerging-hotspots", headers=head,
                   params={**q, "time_window": 3, "format": "gpkg"})
    assert r.status_code == 200, r.text
    (tmp_path / "r.gpkg").write_bytes(r.content)
    layer = gpd.read_file(tmp_path / "r.gpkg")
    ref = emerging_cube(cube(SCENES["consecutive_cold"]), cell_m=100, hotspot_distance_m=300,
                        time_window=3)
    assert layer["pattern"].tolist() == ref.pattern.ravel().tolist()
    r = client.get("/analyses/emerging-hotspots", headers=head, params={**q, "format": "geojson"})
    feats = r.json()["features"]
    assert len(feats) == N * N and {"pattern", "cold_slices"} <= set(feats[0]["properties"])
    r = client.get("/analyses/emerging-hotspots", headers=head, params={**q, "time_window": 0})
    assert r.status_code == 422


# ------------------------------------------------------------------ maps


def _town_csv(tmp_path):
    """The town's emerging hot spot grid, as ``tryggkarta emerging-hotspots`` writes it."""
    from api.cli import app
    from api.cli._common import run_app

    inc = incidents_of(_town())
    f = tmp_path / "town.csv"
    pd.DataFrame({"x": inc.geometry.x, "y": inc.geometry.y,
                  "time": inc["time"].dt.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "category": "Rån"}).to_csv(f, index=False)
    out = tmp_path / "emerging.csv"
    ext = f"{X0},{Y0},{X0 + 100 * 3 * N},{Y0 + 100 * N}"
    assert run_app(app, ["emerging-hotspots", "--incidents", str(f), "--crs", "EPSG:3006",
                         "--extent", ext, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_map_legend_is_the_pattern_table(tmp_path, lang):
    from geo.maps import layer_specs, make_map

    grid = pd.read_csv(_town_csv(tmp_path))
    spec = {s["key"]: s for s in layer_specs(make_map(emerging=grid, tiles=None, lang=lang))}
    layer = spec["emerging"]
    present = [p for p in PATTERNS if p in set(grid["pattern"]) and p != "none"]
    assert {"persistent_hot", "new_hot", "persistent_cold"} <= set(present)
    assert layer["legend"] == [{"color": s.colour, "label": s.label(lang), "shape": "square"}
                               for s in PATTERN_LEGEND if s.pattern in present]
    # one cell per row with a pattern, coloured by its place in PATTERNS
    assert len(layer["rows"]) == (grid["pattern"] != "none").sum()
    assert layer["palette"] == [s.colour for s in PATTERN_LEGEND]
    colours = sorted(PATTERNS.index(p) for p in grid["pattern"] if p != "none")
    assert sorted(r[2] for r in layer["rows"]) == colours
    # the popup shows the pattern by its label in the map's language
    assert layer["fields"][0] == "pattern"
    assert {r[3] for r in layer["rows"]} == {pattern_label(p, lang) for p in present}
    public = {s["key"] for s in layer_specs(make_map(emerging=grid, public=True, tiles=None))}
    assert "emerging" not in public


def test_map_command_draws_the_patterns_in_chromium(tmp_path):
    from api.cli import app
    from api.cli._common import run_app

    sync_api = pytest.importorskip("playwright.sync_api")
    grid = _town_csv(tmp_path)
    html = tmp_path / "karta.html"
    assert run_app(app, ["map", "--emerging", str(grid), "--no-tiles", "--out", str(html)]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,count\n1,2,3\n")
    assert run_app(app, ["map", "--emerging", str(bad), "--out", str(tmp_path / "b.html")]) == 1
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        page = browser.new_page()
        page.route("http*://**", lambda route: route.abort())       # offline
        page.goto(html.as_uri())
        page.wait_for_selector(".tk-legend-layer[data-key=emerging]")
        legend = page.locator(".tk-legend-layer[data-key=emerging]").inner_text()
        for label in ("Ihållande het zon", "Ny het zon", "Ihållande kall zon"):
            assert label in legend
        assert "hot spot" not in legend.lower()
        browser.close()


def test_api_map_with_emerging_hot_spots(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.http.security import hash_token
    from api.settings import Settings

    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"planner {hash_token('p-token')} p\n")
    client = TestClient(create_app(Settings(data_dir=tmp_path / "var", database_url="",
                                            tokens_file=tokens)))
    head = {"Authorization": "Bearer p-token"}
    f = _scene_csv(tmp_path, "persistent_cold")
    r = client.post("/datasets", headers=head,
                    data={"kind": "incidents", "name": "brott", "crs": "EPSG:3006"},
                    files={"file": (f.name, f.read_bytes())})
    assert r.status_code == 201, r.text
    q = {"incidents": "brott", "emerging": True, "tiles": False}
    sv = client.get("/exports/map", headers=head, params=q)
    assert sv.status_code == 200, sv.text
    assert pattern_label("persistent_cold") in sv.text            # 'Ihållande kall zon'
    en = client.get("/exports/map", headers=head, params={**q, "lang": "en"})
    assert "Persistent cold spot" in en.text and "Ihållande kall zon" not in en.text
    plain = client.get("/exports/map", headers=head, params={**q, "emerging": False})
    assert "Ihållande kall zon" not in plain.text
    public = client.get("/exports/map", headers=head, params={**q, "public": True})
    assert public.status_code == 200 and "Ihållande kall zon" not in public.text
    r = client.get("/exports/map", headers=head, params={"cameras": "brott", "emerging": True})
    assert r.status_code == 422 and "emerging" in r.json()["detail"]
