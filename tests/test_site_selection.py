"""Site scoring and selection: hand-checked scenes, brute force, properties, CLI."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from shapely import Point, box

from geo.errors import EmptyLayerError
from geo.scoring import privacy_exposure, score_sites
from geo.selection import (
    aggregate_incidents,
    greedy_select,
    lp_bound,
    pareto_curve,
    select_sites,
)


# ---------------------------------------------------------------- scoring on paper
def scene() -> dict[str, gpd.GeoDataFrame]:
    # 4 m up, 90°, 1920 px: observe radius sqrt(15.36² − 2.4²) = 15.17 m,
    # visible (= detect) radius sqrt(38.4² − 2.4²) = 38.32 m.
    inc = gpd.GeoDataFrame(
        {
            "weight": [1.0, 2.0, 4.0, 8.0, 16.0],
            "precision": ["point", "point", "street", "point", "municipality"],
        },
        geometry=[Point(0, 5), Point(0, 10), Point(0, 20), Point(100, 100), Point(0, 6)],
        crs=3006,
    )
    sites = gpd.GeoDataFrame(
        {"id": ["A", "B"], "azimuth_deg": [0.0, 180.0], "cost_sek": [10.0, 20.0]},
        geometry=[Point(0, 0), Point(0, 30)], crs=3006,
    )
    # existing camera 1 m east of incident 2, facing west: sees it, not incident 1
    cams = gpd.GeoDataFrame({"id": ["E"], "azimuth_deg": [270.0]},
                            geometry=[Point(1, 10)], crs=3006)
    # a place of worship 15 m along both sites' axes: its 10 m disc lies inside both
    # visible sectors (15 · sin 45° = 10.6 > 10 from the sector edges, 25 < 38.3 m)
    sens = gpd.GeoDataFrame({"kind": ["worship"]}, geometry=[Point(0, 15)], crs=3006)
    return {"incidents": inc, "sites": sites, "cameras": cams, "sensitive": sens}


def test_score_sites_by_hand() -> None:
    s = scene()
    # A covers incidents 1 (w 1) and 2 (w 2); incident 2 is already covered by E.
    # B covers incident 3 (w 4, 10 m south). Incident 5 is imprecise: left out.
    # Privacy: both see the whole 10 m disc of a worship place: 4 · π · 100 / 100 = 4π.
    # net (λ = 0.1): A = 1 − 0.4π = −0.257 -> score 0; B = 4 − 0.4π = 2.743 -> 100.
    out = score_sites(s["incidents"], s["sites"], cameras=s["cameras"],
                      sensitive=s["sensitive"], privacy_weight=0.1)
    a, b = out.iloc[0], out.iloc[1]
    assert list(out["id"]) == ["A", "B"]  # index-aligned with the sites
    assert (a["covered_incidents"], a["covered_weight"], a["marginal_weight"]) == (2, 3.0, 1.0)
    assert (b["covered_incidents"], b["covered_weight"], b["marginal_weight"]) == (1, 4.0, 4.0)
    assert a["privacy_penalty"] == pytest.approx(4 * math.pi, rel=2e-3)
    assert b["privacy_penalty"] == pytest.approx(4 * math.pi, rel=2e-3)
    assert a["score"] == 0.0 and b["score"] == 100.0
    assert (a["rank"], b["rank"]) == (2, 1)
    assert out.attrs["left_out"] == 1
    # visible area: a 90° quarter of the 38.32 m disc
    assert a["visible_area_m2"] == pytest.approx(math.pi * (38.4**2 - 2.4**2) / 4, rel=2e-4)
    # without the privacy term the score is the marginal weight relative to the best
    out0 = score_sites(s["incidents"], s["sites"], cameras=s["cameras"],
                       sensitive=s["sensitive"], privacy_weight=0.0)
    assert out0["score"].tolist() == [25.0, 100.0]


def test_score_sites_building_hides_incident() -> None:
    s = scene()
    wall = gpd.GeoDataFrame(geometry=[box(-3, 7, 3, 8)], crs=3006)
    out = score_sites(s["incidents"], s["sites"], buildings=wall, privacy_weight=0.0)
    # the wall between A and incident 2 (at 10 m) hides it; incident 1 (5 m) is seen
    assert out.iloc[0]["covered_weight"] == 1.0


def test_no_precise_incident_is_a_clear_error() -> None:
    s = scene()
    inc = s["incidents"].assign(precision="county")
    with pytest.raises(EmptyLayerError, match="none of the 5 incidents"):
        score_sites(inc, s["sites"])


def test_privacy_exposure_kinds_and_polygons() -> None:
    # a 20 × 20 m school yard polygon: its 10 m margin fully inside a 100 m box:
    # area (20 + 2·10)² − (4 − π) · 10² = 1600 − 85.84 = 1514.16 m² -> 5 · 15.1416
    school = box(0, 0, 20, 20)
    sens = gpd.GeoDataFrame({"kind": ["School", "parking"]},
                            geometry=[school, Point(500, 500)], crs=3006)
    pen = privacy_exposure(np.array([box(-50, -50, 70, 70), box(490, 490, 510, 510)]), sens)
    assert pen[0] == pytest.approx(5 * (1600 - (4 - math.pi) * 100) / 100, rel=1e-3)
    # unknown kind weight 1: 20 × 20 box holds the whole 10 m disc: π
    assert pen[1] == pytest.approx(math.pi, rel=2e-3)


# ---------------------------------------------------------------- selection
def brute_force(a: np.ndarray, w: np.ndarray, *, k: int | None = None,
                costs: np.ndarray | None = None, budget: float | None = None,
                pen: np.ndarray | None = None, lam: float = 0.0,
                existing: np.ndarray | None = None) -> float:
    n = a.shape[0]
    ex = np.zeros(a.shape[1], bool) if existing is None else existing
    pen = np.zeros(n) if pen is None else pen
    best = 0.0
    for r in range(n + 1):
        if k is not None and r > k:
            break
        for combo in itertools.combinations(range(n), r):
            c = list(combo)
            if budget is not None and costs[c].sum() > budget + 1e-9:
                continue
            cov = a[c].any(axis=0) & ~ex
            best = max(best, float(w[cov].sum() - lam * pen[c].sum()))
    return best


def random_instance(seed: int, n: int = 7, m: int = 25) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random((n, m)) < rng.uniform(0.1, 0.4)
    w = rng.integers(1, 10, m).astype(float)
    return a, w


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 4))
def test_milp_equals_brute_force_and_beats_greedy(seed: int, k: int) -> None:
    a, w = random_instance(seed)
    ex = np.random.default_rng(seed + 1).random(a.shape[1]) < 0.2
    ids = [f"s{i}" for i in range(a.shape[0])]
    exact = select_sites(sparse.csr_matrix(a), w, ids=ids, existing=ex, k=k, exact=True)
    greedy = select_sites(sparse.csr_matrix(a), w, ids=ids, existing=ex, k=k)
    bf = brute_force(a, w, k=k, existing=ex)
    assert exact.optimal and exact.new_weight == pytest.approx(bf)
    assert exact.new_weight >= greedy.new_weight - 1e-9
    assert greedy.upper_bound >= bf - 1e-7  # the LP bound bounds the optimum
    assert greedy.new_weight >= (1 - 1 / math.e) * bf - 1e-9
    # the table adds up and marginal gains never increase along the order
    t = exact.table
    assert (t["cumulative_weight"].iloc[-1] if len(t) else 0.0) == pytest.approx(bf)
    assert (np.diff(t["marginal_weight"]) <= 1e-9).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6))
def test_budget_and_privacy_milp_vs_brute_force(seed: int) -> None:
    a, w = random_instance(seed, n=6)
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 6, a.shape[0]).astype(float)
    pen = rng.uniform(0, 8, a.shape[0])
    budget = float(rng.integers(2, 12))
    lam = float(rng.choice([0.0, 0.5, 2.0]))
    ids = [f"s{i}" for i in range(a.shape[0])]
    s = select_sites(sparse.csr_matrix(a), w, ids=ids, budget=budget, costs=costs, penalty=pen,
                     privacy_weight=lam, exact=True)
    assert s.objective == pytest.approx(brute_force(a, w, costs=costs, budget=budget, pen=pen,
                                                    lam=lam), abs=1e-6)
    assert s.table["cost_sek"].sum() <= budget + 1e-9
    g = select_sites(sparse.csr_matrix(a), w, ids=ids, budget=budget, costs=costs, penalty=pen,
                     privacy_weight=lam)
    assert g.table["cost_sek"].sum() <= budget + 1e-9
    assert g.objective <= s.objective + 1e-9


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 8))
def test_greedy_gains_never_increase(seed: int, k: int) -> None:
    a, w = random_instance(seed, n=15, m=60)
    b, gw = aggregate_incidents(sparse.csr_matrix(a), w)
    chosen, gains, _ = greedy_select(b, gw, k=k)
    assert all(g1 >= g2 - 1e-12 for g1, g2 in itertools.pairwise(gains))
    # each gain is the best available at its step (non-lazy check)
    covered = np.zeros(a.shape[1], bool)
    for i, g in zip(chosen, gains, strict=True):
        best = max(w[a[j] & ~covered].sum() for j in range(a.shape[0]))
        assert g == pytest.approx(best)
        covered |= a[i]


def test_aggregation_keeps_weights() -> None:
    a, w = random_instance(5, n=10, m=200)
    b, gw = aggregate_incidents(sparse.csr_matrix(a), w)
    assert gw.sum() == pytest.approx(w[a.any(axis=0)].sum())
    assert b.shape[1] < 200


def test_budget_best_single_site_safeguard() -> None:
    # ratio greedy takes the cheap site (2 per krona) and then cannot afford the big one
    a = sparse.csr_matrix(np.array([[1, 0], [0, 1]], dtype=bool))
    s = select_sites(a, [2.0, 100.0], ids=["cheap", "big"], budget=100.0,
                     costs=[1.0, 100.0])
    assert s.method == "greedy+best-single" and list(s.table["id"]) == ["big"]


def test_greedy_gap_reported() -> None:
    # greedy picks the middle site first (3), then a or c (1 more): 4 = the optimum
    a = np.array([[1, 1, 0, 0, 0], [0, 1, 1, 1, 0], [0, 0, 0, 1, 1]], dtype=bool)
    w = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    g = select_sites(sparse.csr_matrix(a), w, ids=list("abc"), k=2)
    e = select_sites(sparse.csr_matrix(a), w, ids=list("abc"), k=2, exact=True)
    assert e.new_weight == 4.0 and g.new_weight == 4.0
    assert lp_bound(*aggregate_incidents(sparse.csr_matrix(a), w), k=2) >= 4.0
    a2 = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]], dtype=bool)
    w2 = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.9])
    g2 = select_sites(sparse.csr_matrix(a2), w2, ids=list("abc"), k=2)
    e2 = select_sites(sparse.csr_matrix(a2), w2, ids=list("abc"), k=2, exact=True)
    # greedy: a (4), then b or c (0.9) = 4.9; optimum b + c = 5.8
    assert g2.new_weight == pytest.approx(4.9) and e2.new_weight == pytest.approx(5.8)
    assert not g2.optimal and g2.gap >= (5.8 - 4.9) / 5.8 - 1e-9
    assert list(e2.table["order"]) == [1, 2]
    assert e2.table["cumulative_share"].iloc[-1] == pytest.approx(5.8 / w2.sum())


def test_pareto_curve_trades_privacy() -> None:
    a = sparse.csr_matrix(np.array([[1, 1, 1, 0], [0, 0, 0, 1], [0, 0, 1, 1]], dtype=bool))
    c = pareto_curve(a, np.ones(4), ids=["a", "b", "c"], penalty=[30.0, 0.0, 1.0], k=2,
                     exact=True)
    assert c["covered_weight"].iloc[0] == 4.0  # λ = 0: best coverage
    assert c["privacy_penalty"].iloc[-1] <= c["privacy_penalty"].iloc[0]
    pts = c[c["pareto"]]
    # no point on the front is dominated by another row
    for _, r in pts.iterrows():
        dom = c[(c["covered_weight"] >= r["covered_weight"])
                & (c["privacy_penalty"] < r["privacy_penalty"] - 1e-12)]
        assert dom.empty


# ---------------------------------------------------------------- CLI
def write(frame: gpd.GeoDataFrame, path: Path) -> str:
    frame.to_crs(4326).to_file(path, driver="GeoJSON")
    return str(path)


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, str]:
    # the paper scene moved into Stockholm (EPSG:3006 offsets)
    s = scene()
    x0, y0 = 674000.0, 6580800.0
    out = {}
    for name, frame in s.items():
        f = frame.copy()
        f.geometry = f.geometry.translate(x0, y0)
        if name == "incidents":
            f["time"] = "2025-06-01T22:30:00"
            f["category"] = "Misshandel"
            f["id"] = [f"i{i}" for i in range(len(f))]
        out[name] = write(f, tmp_path / f"{name}.geojson")
    bld = gpd.GeoDataFrame(geometry=[box(-3, 7, 3, 8)], crs=3006).translate(x0, y0)
    out["buildings"] = write(gpd.GeoDataFrame(geometry=bld, crs=3006),
                             tmp_path / "buildings.geojson")
    return out


def run(args: list[str]) -> int:
    from api.cli import app
    from api.cli._common import run_app

    return run_app(app, args)


def test_cli_coverage_score_select(files: dict[str, str], tmp_path: Path, capsys) -> None:
    cov = tmp_path / "cov.geojson"
    assert run(["coverage", "--cameras", files["sites"], "--buildings", files["buildings"],
                "--levels", "observe,visible", "--out", str(cov)]) == 0
    g = gpd.read_file(cov)
    assert list(g["level"]) == ["observe", "visible", "observe", "visible"]
    assert set(g.columns) >= {"camera_id", "level", "area_m2"}
    scores = tmp_path / "scores.csv"
    assert run(["score-sites", "--incidents", files["incidents"], "--sites", files["sites"],
                "--cameras", files["cameras"], "--sensitive", files["sensitive"],
                "--severity", "none", "--out", str(scores)]) == 0
    t = pd.read_csv(scores)
    assert list(t["id"]) == ["B", "A"] and list(t["rank"]) == [1, 2]
    for col in ("score", "covered_incidents", "covered_weight", "marginal_weight",
                "privacy_penalty", "visible_area_m2"):
        assert col in t.columns
    assert "1 incidents left out" in capsys.readouterr().out
    sel = tmp_path / "sel.csv"
    par = tmp_path / "pareto.csv"
    assert run(["select-sites", "--incidents", files["incidents"], "--sites", files["sites"],
                "--cameras", files["cameras"], "--severity", "none", "--sensitive",
                files["sensitive"], "--k", "2", "--exact", "--pareto", str(par),
                "--out", str(sel)]) == 0
    t = pd.read_csv(sel)
    assert list(t.columns[:6]) == ["order", "id", "marginal_weight", "cumulative_weight",
                                   "cumulative_share", "cost_sek"]
    assert list(t["id"]) == ["B", "A"] and list(t["marginal_weight"]) == [4.0, 1.0]
    # all precise weight: 1 + 2 + 4 + 8 = 15
    assert t["cumulative_share"].tolist() == pytest.approx([4 / 15, 5 / 15])
    assert "proven optimal" in capsys.readouterr().out
    assert pd.read_csv(par)["pareto"].any()
    assert run(["select-sites", "--incidents", files["incidents"], "--sites", files["sites"],
                "--severity", "none", "--budget", "15", "--out", str(sel)]) == 0
    assert list(pd.read_csv(sel)["id"]) == ["A"]


def test_cli_errors(files: dict[str, str], tmp_path: Path, capsys) -> None:
    sel = tmp_path / "sel.csv"
    base = ["select-sites", "--incidents", files["incidents"], "--sites", files["sites"],
            "--out", str(sel)]
    assert run(base + ["--k", "1", "--budget", "3"]) == 2
    assert run(base) == 2
    assert not sel.exists()
    # a camera deep inside a building
    inside = gpd.GeoDataFrame({"id": ["X"]}, geometry=[Point(674010.0, 6580810.0)], crs=3006)
    cams = write(inside, tmp_path / "inside.geojson")
    big = write(gpd.GeoDataFrame(geometry=[box(673990, 6580790, 674030, 6580830)], crs=3006),
                tmp_path / "big.geojson")
    capsys.readouterr()
    assert run(["coverage", "--cameras", cams, "--buildings", big, "--out",
                str(tmp_path / "c.geojson")]) == 1
    err = capsys.readouterr().err
    assert "inside.geojson" in err and "feature 0" in err and "Traceback" not in err
    assert not (tmp_path / "c.geojson").exists()
