"""`tryggkarta demo` end to end, through the installed console script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    exe = Path(sys.executable).with_name("tryggkarta")
    env = {**os.environ, "TRYGGKARTA_DATA_DIR": str(out.parent / "var"), "COLUMNS": "200"}
    env.pop("TRYGGKARTA_DATABASE_URL", None)
    proc = subprocess.run([str(exe), "demo", "--out", str(out)], capture_output=True,
                          text=True, env=env, timeout=300, cwd=out.parent)
    return proc, out


def test_demo_exits_cleanly_and_writes_every_analysis(demo_run):
    proc, out = demo_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    names = {p.name for p in out.iterdir() if p.is_file()}
    for expected in ("incidents_by_category_month.csv", "density.csv", "density.tif",
                     "site_scores.csv", "site_selection.csv", "coverage_sites.geojson",
                     "map.html", "map_public.html"):
        assert expected in names
    assert all(p.stat().st_size > 0 for p in out.iterdir() if p.is_file())
    assert f"Wrote {len(names)} files" in proc.stdout
    assert "and the folders camera_docs/, lagesbild/, lagesbild_public/" in " ".join(
        proc.stdout.split())
    # the layers went through the embedded store (the default backend) and are listed there
    env = {**os.environ, "TRYGGKARTA_DATA_DIR": str(out / "store")}
    env.pop("TRYGGKARTA_DATABASE_URL", None)
    listing = subprocess.run([str(Path(sys.executable).with_name("tryggkarta")), "datasets",
                              "list"], capture_output=True, text=True, env=env, timeout=60)
    assert listing.returncode == 0, listing.stderr
    for kind in ("incidents", "sites", "cameras", "buildings", "sensitive", "areas"):
        assert f"demo-{kind}" in listing.stdout


def test_demo_tables_agree_with_the_input(demo_run):
    _, out = demo_run
    feats = json.loads((DEMO / "incidents.geojson").read_text())["features"]
    by_cat = pd.Series([f["properties"]["category"] for f in feats]).value_counts()
    table = pd.read_csv(out / "incidents_by_category_month.csv").set_index("category")
    assert table["total"].sum() == len(feats)
    assert table["total"].to_dict() == by_cat.to_dict()
    # density counts only precise incidents: the 40 municipality-centre events are out
    precise = sum(f["properties"].get("precision", "point") in ("point", "street")
                  for f in feats)
    density = pd.read_csv(out / "density.csv")
    assert density["count"].sum() == precise < len(feats)
    assert set(density["hotspot"]) <= {"hot", "cold", "none"}


def test_demo_site_outputs_follow_the_contract(demo_run):
    _, out = demo_run
    scores = pd.read_csv(out / "site_scores.csv")
    for col in ("id", "rank", "score", "covered_incidents", "covered_weight",
                "marginal_weight", "privacy_penalty", "visible_area_m2"):
        assert col in scores.columns
    n_sites = len(json.loads((DEMO / "sites.geojson").read_text())["features"])
    assert len(scores) == n_sites and sorted(scores["rank"]) == list(range(1, n_sites + 1))
    assert scores["score"].between(0, 100).all()
    sel = pd.read_csv(out / "site_selection.csv")
    assert list(sel["order"]) == list(range(1, len(sel) + 1))
    assert sel["cumulative_weight"].to_numpy() == pytest.approx(sel["marginal_weight"].cumsum())
    assert sel["cumulative_share"].is_monotonic_increasing


def test_demo_public_map_has_no_incident_point(demo_run):
    _, out = demo_run
    html = (out / "map_public.html").read_text()
    num = r"-?\d{1,3}\.\d+"
    pair = r"\[\s*" + num + r"\s*,\s*" + num + r"\s*\]"
    # vertices of rings and lines (cells, buildings, coverage arcs) are not points: drop
    # runs of 3 or more pairs, then look at every pair left (markers, points, centres)
    singles = re.sub(r"\[\s*" + pair + r"(?:\s*,\s*" + pair + r"){2,}\s*\]", "", html)
    found = re.findall(r"\[\s*(" + num + r")\s*,\s*(" + num + r")\s*\]", singles)
    seen = {(round(float(a), 6), round(float(b), 6)) for a, b in found}
    seen |= {(b, a) for a, b in seen}
    # the same check finds the incidents in the map that does draw them
    full = re.sub(r"\[\s*" + pair + r"(?:\s*,\s*" + pair + r"){2,}\s*\]", "",
                  (out / "map.html").read_text())
    drawn = {(round(float(a), 6), round(float(b), 6))
             for a, b in re.findall(r"\[\s*(" + num + r")\s*,\s*(" + num + r")\s*\]", full)}
    drawn |= {(b, a) for a, b in drawn}
    feats = json.loads((DEMO / "incidents.geojson").read_text())["features"]
    keys = {f["properties"]["id"]: (round(f["geometry"]["coordinates"][0], 6),
                                    round(f["geometry"]["coordinates"][1], 6)) for f in feats
            if f["properties"].get("precision", "point") in ("point", "street")}
    assert sum(k in drawn for k in keys.values()) > len(keys) / 2
    assert [i for i, k in keys.items() if k in seen] == []


def _text(html: str) -> str:
    """The words a reader sees, roughly: no scripts, styles, tags or file names."""
    html = re.sub(r"(?s)<(script|style|svg)\b.*?</\1>", " ", html)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\S+\.(?:geojson|csv|gpkg|json)\b", " ", text)


def _local_months() -> pd.Series:
    feats = json.loads((DEMO / "incidents.geojson").read_text())["features"]
    t = pd.to_datetime([f["properties"]["time"] for f in feats], utc=True)
    return pd.Series(t.tz_convert("Europe/Stockholm").strftime("%Y-%m"))


def test_demo_writes_the_lagesbild_of_the_newest_full_month(demo_run):
    from tests._lang import english_words

    _, out = demo_run
    months = _local_months()
    # the demo incidents run to 31 October 2026 (local), so October is the newest full month
    assert months.max() == "2026-10"
    for folder in ("lagesbild", "lagesbild_public"):
        for name in ("lagesbild.html", "lagesbild_counts.csv", "lagesbild_monthly.csv",
                     "lagesbild.xlsx"):
            assert (out / folder / name).stat().st_size > 0, (folder, name)
    counts = pd.read_csv(out / "lagesbild" / "lagesbild_counts.csv", keep_default_na=False)
    whole = counts[(counts["area_id"] == "ALL") & (counts["category"] == "ALL")]
    assert len(whole) == 1
    assert int(whole["count"].iloc[0]) == int((months == "2026-10").sum())
    assert int(whole["previous"].iloc[0]) == int((months == "2026-09").sum())
    assert int(whole["last_year"].iloc[0]) == int((months == "2025-10").sum())
    assert {"A1", "A2", "A3"} <= set(counts["area_id"])
    monthly = pd.read_csv(out / "lagesbild" / "lagesbild_monthly.csv", keep_default_na=False)
    series = monthly[(monthly["area_id"] == "ALL") & (monthly.get("level", "all") == "all")]
    assert series["month"].tolist()[-1] == "2026-10" and len(series) == 24
    assert series.set_index("month")["count"].to_dict() == months.value_counts().to_dict()
    public = pd.read_csv(out / "lagesbild_public" / "lagesbild_counts.csv",
                         keep_default_na=False)
    assert not public["count"].isin([1, 2]).any()
    for folder in ("lagesbild", "lagesbild_public"):
        html = (out / folder / "lagesbild.html").read_text()
        assert '<html lang="sv"' in html
        assert english_words(_text(html)) == [], folder


def test_demo_writes_the_camera_documentation(demo_run):
    from tests._lang import english_words

    _, out = demo_run
    cams = json.loads((DEMO / "cameras.geojson").read_text())["features"]
    ids = sorted(f["properties"]["id"] for f in cams)
    docs = out / "camera_docs"
    register = pd.read_csv(docs / "register.csv")
    assert sorted(register["id"]) == ids
    for col in ("x", "y", "visible_area_m2", "observe_area_m2", "incidents_in_view",
                "incidents_in_view_night", "sensitive_in_view"):
        assert col in register.columns
    assert (register["incidents_in_view_night"] <= register["incidents_in_view"]).all()
    assert (docs / "register.gpkg").stat().st_size > 0
    masks = pd.read_csv(docs / "masks.csv")
    assert set(masks["camera_id"]) <= set(ids)
    # one mask row per camera and sensitive feature counted in view
    assert len(masks) == register["sensitive_in_view"].sum()
    # the cameras layer's own columns (mount, type, street, place) are carried as given
    carried = frozenset(k for f in cams for k in f["properties"])
    for i in ids:
        html = (docs / f"camera_{i}.html").read_text()
        assert '<html lang="sv"' in html
        assert english_words(_text(html), allow=carried) == [], i


def test_demo_writes_an_evaluation_with_its_report(demo_run):
    from tests._lang import english_words

    _, out = demo_run
    table = pd.read_csv(out / "evaluation.csv")
    areas = json.loads((DEMO / "areas.geojson").read_text())["features"]
    assert sorted(table["id"]) == sorted(f["properties"]["id"] for f in areas)
    months = _local_months()
    # the start is inside the incident period: months before and after it hold incidents
    starts = set(table["start"])
    assert len(starts) == 1
    start = starts.pop()[:7]
    assert months.min() < start <= months.max()
    assert (table["a_before"] > 0).all() and (table["a_after"] > 0).all()
    # RES as the contract defines it, from the table's own counts
    expected = (table["a_before"] * table["c_after"]) / (table["a_after"] * table["c_before"])
    assert table["res"].to_numpy() == pytest.approx(expected.to_numpy())
    html = (out / "evaluation_report.html").read_text()
    assert '<html lang="sv"' in html
    assert english_words(_text(html)) == []
