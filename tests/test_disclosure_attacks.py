"""Issue 15's attacks on public documents, each tried as an adversary would.

Every test builds two (or more) public documents through the command line, reads them
as a reader of the public record would (text of the HTML, tables), and runs the attack.
Each one succeeded against the suppression rule of before ("<3" and "x" next to exact
totals, exact point-in-polygon counts, a free ring width, exact site scores); with the
cell key method and the 100 m grid rule (geo/disclosure.py) it must fail.
"""

from __future__ import annotations

import html.parser
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from scipy.optimize import Bounds, LinearConstraint, milp

from api.cli import app
from api.cli._common import run_app
from geo import disclosure as sdc

X0, Y0 = 674_000.0, 6_580_000.0
TO_WGS84 = Transformer.from_crs(3006, 4326, always_xy=True)
SECRET = "attack-tests-secret-0123456789"


@pytest.fixture(autouse=True)
def _secret(monkeypatch, tmp_path):
    monkeypatch.setenv("TRYGGKARTA_SDC_SECRET", SECRET)
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TRYGGKARTA_LANG", raising=False)


# --------------------------------------------------------------------------- reading


class _Text(html.parser.HTMLParser):
    """Text nodes (SVG text included) and tables of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._stack: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th") and self._stack:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag in ("td", "th") and self._stack and self._cell is not None:
            if self._stack[-1]:
                self._stack[-1][-1].append(" ".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data):
        if self._skip:
            return
        t = data.strip()
        if t:
            self.texts.append(t)
            if self._cell is not None:
                self._cell.append(t)


def _read(path: Path) -> _Text:
    p = _Text()
    p.feed(path.read_text("utf-8"))
    return p


def _incident_figures(path: Path) -> list[str]:
    """Every text of the document but the drawn area's own surface (m²/km² of it)."""
    return [t for t in _read(path).texts if "m²" not in t]


def _num(text: str) -> float | None:
    t = text.replace("\u2009", "").replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    t = t.replace("−", "-").replace(",", ".")
    try:
        return float(t)
    except ValueError:
        return None


def _uses_cell_key(path: Path) -> bool:
    text = path.read_text("utf-8").lower()
    return "cellnyckel" in text or "cell key" in text


# --------------------------------------------------------------------------- scenes


def _write_incidents(path: Path, xy: np.ndarray, times: list[str], cats: list[str],
                     ids: list[int] | None = None) -> str:
    """A GeoJSON incidents file; ``ids`` keeps each incident's id across extracts."""
    lon, lat = TO_WGS84.transform(xy[:, 0], xy[:, 1])
    ids = list(range(len(times))) if ids is None else ids
    feats = [{"type": "Feature",
              "geometry": {"type": "Point", "coordinates": [round(a, 8), round(b, 8)]},
              "properties": {"id": f"I{i}", "time": t, "category": c, "precision": "point"}}
             for i, a, b, t, c in zip(ids, lon, lat, times, cats, strict=True)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return str(path)


def _write_areas(path: Path, geoms: list[shapely.Geometry], ids: list[str] | None = None,
                 ) -> str:
    ids = ids or ["A"] * len(geoms)
    gpd.GeoDataFrame({"id": ids, "name": ["Torget"] * len(geoms)}, geometry=geoms,
                     crs=3006).to_file(path)
    return str(path)


def _background(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[str], list[str]]:
    xy = rng.uniform([X0 - 1500, Y0 - 1500], [X0 + 2500, Y0 + 2500], (n, 2))
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n), unit="D")
    times = [f"{d:%Y-%m-%d}T{h:02d}:15" for d, h in zip(days, rng.integers(0, 24, n),
                                                        strict=True)]
    cats = rng.choice(["Stöld", "Skadegörelse", "Misshandel"], n).tolist()
    return xy, times, cats


def _report(tmp: Path, incidents: str, areas: str, out: str, *extra: str) -> Path:
    target = tmp / out
    code = run_app(app, ["report-area", "--incidents", incidents, "--areas", areas,
                         "--area", "A", "--out", str(target), *extra])
    assert code == 0
    return target


# --------------------------------------------------------------------------- 1. areas


def test_differencing_two_areas_around_an_isolated_incident(tmp_path):
    """A 120 m box around an isolated incident, and the same box minus a 6 × 6 m hole."""
    rng = np.random.default_rng(15)
    xy, times, cats = _background(rng, 600)
    bx, by = X0 + 1000, Y0 + 1000
    box = shapely.box(bx, by, bx + 120, by + 120)
    keep = ~shapely.intersects_xy(box.buffer(30), xy[:, 0], xy[:, 1])
    xy, times = xy[keep], [t for t, k in zip(times, keep, strict=True) if k]
    cats = [c for c, k in zip(cats, keep, strict=True) if k]
    # a few incidents in the box, and the isolated one: a robbery on a Sunday at 03 h
    inside = np.array([[bx + 70, by + 80], [bx + 90, by + 20], [bx + 15, by + 95],
                       [bx + 60, by + 60], [bx + 112, by + 50], [bx + 40, by + 10]])
    target = np.array([[bx + 33.0, by + 33.0]])
    xy = np.vstack([xy, inside, target])
    times += [f"2024-06-{d:02d}T14:00" for d in (3, 4, 5, 6, 7, 10)] + ["2024-09-15T03:20"]
    cats += ["Stöld"] * 6 + ["Rån"]
    inc = _write_incidents(tmp_path / "inc.geojson", xy, times, cats)
    hole = shapely.box(bx + 30, by + 30, bx + 36, by + 36)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()  # same file names: the documents name their sources
    a = _report(tmp_path, inc, _write_areas(tmp_path / "a" / "areas.gpkg", [box]), "a.html")
    b = _report(tmp_path, inc, _write_areas(tmp_path / "b" / "areas.gpkg",
                                            [box.difference(hole)]), "b.html")
    fa, fb = _incident_figures(a), _incident_figures(b)
    differing = [(x, y) for x, y in zip(fa, fb, strict=False) if x != y]
    assert len(fa) == len(fb) and not differing, differing[:10]


def test_ring_width_cannot_be_bisected(tmp_path):
    """Ring widths on either side of an incident's distance from the edge."""
    rng = np.random.default_rng(16)
    xy, times, cats = _background(rng, 500)
    area = shapely.box(X0, Y0, X0 + 400, Y0 + 400)
    lone = np.array([[X0 + 200, Y0 + 400 + 120.0]])   # 120 m north of the edge
    xy = np.vstack([xy, lone])
    times.append("2024-05-05T02:00")
    cats.append("Rån")
    inc = _write_incidents(tmp_path / "inc.geojson", xy, times, cats)
    areas = _write_areas(tmp_path / "a.gpkg", [area])
    docs = [_report(tmp_path, inc, areas, f"r{w}.html", "--ring-m", str(w))
            for w in (100, 119, 121, 140)]
    first = _incident_figures(docs[0])
    for d in docs[1:]:
        other = _incident_figures(d)
        assert other == first, [(x, y) for x, y in zip(first, other, strict=False)
                                if x != y][:10]


# --------------------------------------------------------------------------- 2. tables


def _weekday_hour(path: Path) -> list[list[str]]:
    for t in _read(path).tables:
        if t and len(t[0]) == 26 and t[0][1] == "00" and t[0][24] == "23":
            return t
    raise AssertionError(f"no weekday × hour table in {path.name}")


def _interval(text: str, cell_key: bool) -> tuple[int, int]:
    """What a reader knows of a true count from its printed text."""
    v = _num(text)
    if v is None:
        if text.replace(" ", "") == "<3":
            return 1, 2
        return 0, 10**6  # hidden ("x", "–"): anything
    if cell_key:
        vals = sdc.possible_true_values(int(v))
        return min(vals), max(vals)
    return int(v), int(v)


def _solve_range(n_vars: int, bounds: list[tuple[int, int]],
                 lines: list[tuple[list[int], tuple[int, int]]], var: int) -> tuple[int, int]:
    lo = np.array([b[0] for b in bounds], float)
    hi = np.array([b[1] for b in bounds], float)
    a = np.zeros((len(lines), n_vars))
    lb, ub = np.zeros(len(lines)), np.zeros(len(lines))
    for i, (members, (low, up)) in enumerate(lines):
        a[i, members] = 1
        lb[i], ub[i] = low, up
    cons = [LinearConstraint(a, lb, ub)] if len(lines) else []
    out = []
    for sign in (1, -1):
        c = np.zeros(n_vars)
        c[var] = sign
        res = milp(c, constraints=cons, integrality=np.ones(n_vars), bounds=Bounds(lo, hi))
        assert res.status == 0, res.message
        out.append(int(round(sign * res.fun)))
    return out[0], out[1]


def test_weekday_hour_table_cannot_be_solved_from_its_totals(tmp_path):
    """An integer program on the published cells and totals pins no cell."""
    rng = np.random.default_rng(17)
    n = 120
    xy = rng.uniform([X0 + 5, Y0 + 5], [X0 + 995, Y0 + 995], (n, 2))
    # a sparse week: most cells 0, many 1 and 2, a few busy evenings
    day = rng.choice(7, n, p=[0.08, 0.08, 0.1, 0.12, 0.22, 0.25, 0.15])
    hour = rng.choice(24, n, p=np.r_[np.full(18, 0.02), np.full(6, (1 - 0.36) / 6)])
    base = pd.Timestamp("2024-04-01")  # a Monday
    times = [f"{base + pd.Timedelta(days=int(d) + 7 * int(w)):%Y-%m-%d}T{h:02d}:30"
             for d, h, w in zip(day, hour, rng.integers(0, 20, n), strict=True)]
    cats = ["Stöld"] * n
    inc = _write_incidents(tmp_path / "inc.geojson", xy, times, cats)
    areas = _write_areas(tmp_path / "a.gpkg", [shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)])
    doc = _report(tmp_path, inc, areas, "r.html")
    ck = _uses_cell_key(doc)
    table = _weekday_hour(doc)
    body = table[1:8]
    true = np.zeros((7, 24), int)
    np.add.at(true, (day, hour), 1)
    bounds = [_interval(body[i][1 + j], ck) for i in range(7) for j in range(24)]
    lines = []
    for i in range(7):
        lines.append(([i * 24 + j for j in range(24)], _interval(body[i][25], ck)))
    for j in range(24):
        lines.append(([i * 24 + j for i in range(7)], _interval(table[8][1 + j], ck)))
    lines.append((list(range(168)), _interval(table[8][25], ck)))
    pinned = []
    for i in range(7):
        for j in range(24):
            if true[i, j] == 0 and _num(body[i][1 + j]) == 0 and not ck:
                continue  # a printed 0 of the old rule: nothing to hide
            lo, hi = _solve_range(168, bounds, lines, i * 24 + j)
            assert lo <= true[i, j] <= hi  # the reader's model is right
            if lo == hi:
                pinned.append((i, j, int(true[i, j])))
    assert not pinned, f"{len(pinned)} cells recovered exactly, e.g. {pinned[:8]}"


def _category_table(path: Path) -> dict[str, str]:
    """Category -> printed count, from the table whose rows end in an all-categories row."""
    for t in _read(path).tables:
        if len(t) >= 3 and len(t[0]) == 2 and any("Stöld" == r[0] for r in t[1:]):
            return {r[0]: r[1] for r in t[1:]}
    raise AssertionError(f"no category table in {path.name}")


def _weighted_density(path: Path) -> float:
    for t in _read(path).tables:
        for r in t:
            if len(r) == 2 and re.search(r"(?i)(weighted|viktad)", r[0]):
                v = _num(r[1])
                assert v is not None, r
                return v
    raise AssertionError("no weighted density")


def test_hidden_category_count_from_the_weighted_density(tmp_path):
    """Severity-weighted density and the category table together give no hidden count."""
    rng = np.random.default_rng(18)
    counts = {"Stöld": 40, "Klotter": 10, "Rån": 1}
    cats = [c for c, k in counts.items() for _ in range(k)]
    n = len(cats)
    xy = rng.uniform([X0 + 5, Y0 + 5], [X0 + 995, Y0 + 995], (n, 2))
    times = [f"2024-03-{1 + i % 28:02d}T12:00" for i in range(n)]
    inc = _write_incidents(tmp_path / "inc.geojson", xy, times, cats)
    sev = tmp_path / "sev.csv"
    sev.write_text("category,severity\nStöld,1\nKlotter,2\nRån,8\n")
    severity = {"Stöld": 1, "Klotter": 2, "Rån": 8}
    areas = _write_areas(tmp_path / "a.gpkg", [shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)])
    doc = _report(tmp_path, inc, areas, "r.html", "--severity", str(sev),
                  "--half-life-days", "0")
    table = _category_table(doc)
    wd = _weighted_density(doc)  # per km², the area is 1 km² (100 grid cells)
    printed = {c: _num(table[c]) if c in table else 0.0 for c in counts}
    if _uses_cell_key(doc):
        # the published density is a function of the published counts: nothing more
        assert all(v is not None for v in printed.values()), printed
        assert wd == pytest.approx(sum(severity[c] * printed[c] for c in counts), abs=0.51)
        assert all(v not in (1, 2) for v in printed.values())
        return
    # the reader's integer program: hidden counts consistent with the density (rounded
    # to a whole number per km²) and with the table's total
    hidden = [c for c, v in printed.items() if v is None]
    known = sum(severity[c] * v for c, v in printed.items() if v is not None)
    total = _num(next(v for k, v in table.items() if k not in counts))
    sols = []
    for combo in np.ndindex(*([60] * len(hidden))):
        vals = dict(zip(hidden, combo, strict=True))
        if any(table[c].replace(" ", "") == "<3" and not 1 <= vals[c] <= 2 for c in hidden):
            continue
        if total is not None and sum(vals.values()) + sum(
                v for v in printed.values() if v is not None) != total:
            continue
        if abs(known + sum(severity[c] * k for c, k in vals.items()) - wd) <= 0.5:
            sols.append(vals)
    assert len(sols) != 1, f"hidden counts recovered: {sols}"


# --------------------------------------------------------------------------- 3. maps


def _map(tmp: Path, out: str, *args: str) -> Path:
    target = tmp / out
    code = run_app(app, ["map", "--public", "--no-tiles", "--out", str(target), *args])
    assert code == 0
    return target


def _grid_rows(path: Path) -> dict[tuple[int, int], int]:
    """The published incident cells of a public map, as a reader extracts them."""
    text = path.read_text("utf-8")
    found = re.search(r'"rows":\s*(\[\[.*?\]\])', text, re.S)
    assert found, f"no incident cells in {path.name}"
    rows = json.loads(found.group(1))
    out = {}
    for r in rows:
        v = _num(str(r[3]))
        assert v is not None, r
        out[(int(r[0]), int(r[1]))] = int(v)
    return out


def test_differencing_two_periods(tmp_path):
    """Maps of September and of September–October: no cell gives 'one incident in October'."""
    rng = np.random.default_rng(19)
    n = 700
    xy = rng.uniform([X0, Y0], [X0 + 1500, Y0 + 1500], (n, 2))
    day = rng.integers(0, 61, n)  # 1 September .. 31 October
    times = [f"{pd.Timestamp('2024-09-01') + pd.Timedelta(days=int(d)):%Y-%m-%d}T12:00"
             for d in day]
    cats = rng.choice(["Stöld", "Skadegörelse"], n).tolist()
    # a cell with three incidents in September and one more in October
    cell = np.array([[X0 + 1720, Y0 + 1730], [X0 + 1750, Y0 + 1760], [X0 + 1780, Y0 + 1710],
                     [X0 + 1760, Y0 + 1790]])
    xy = np.vstack([xy, cell])
    times += ["2024-09-05T12:00", "2024-09-12T12:00", "2024-09-20T12:00", "2024-10-09T22:00"]
    cats += ["Stöld", "Stöld", "Stöld", "Rån"]
    sept = [i for i, t in enumerate(times) if t.startswith("2024-09")]
    (tmp_path / "sep").mkdir()
    (tmp_path / "sepoct").mkdir()
    a = _write_incidents(tmp_path / "sep" / "inc.geojson", xy[sept],
                         [times[i] for i in sept], [cats[i] for i in sept], ids=sept)
    b = _write_incidents(tmp_path / "sepoct" / "inc.geojson", xy, times, cats)
    pa = _grid_rows(_map(tmp_path, "sep.html", "--incidents", a))
    pb = _grid_rows(_map(tmp_path, "sepoct.html", "--incidents", b))
    ck = _uses_cell_key(tmp_path / "sepoct.html")
    exact = {}
    for k in set(pa) | set(pb):
        va, vb = pa.get(k, 0), pb.get(k, 0)
        ia = sdc.possible_true_values(va) if ck else ([va] if k in pa else [0, 1, 2])
        ib = sdc.possible_true_values(vb) if ck else ([vb] if k in pb else [0, 1, 2])
        diffs = {y - x for x in ia for y in ib if y >= x}
        if len(diffs) == 1:
            exact[k] = diffs.pop()
    assert not exact, f"cells whose October count is known exactly: {list(exact.items())[:5]}"


def test_site_scores_on_a_public_map_give_no_exact_count_or_weight(tmp_path):
    """Sites of 60–700 m² coverage: score, covered incidents and weights not published."""
    rng = np.random.default_rng(20)
    centres = np.array([[X0 + 200 + 150 * i, Y0 + 300] for i in range(5)])
    pts = np.vstack([c + rng.normal(0, 6, (3 + 2 * i, 2)) for i, c in enumerate(centres)])
    bg, btimes, bcats = _background(rng, 200)
    xy = np.vstack([pts, bg])
    times = [f"2024-{1 + i % 12:02d}-{1 + i % 27:02d}T{i % 24:02d}:10"
             for i in range(len(pts))] + btimes
    cats = ["Rån"] * len(pts) + bcats
    inc = _write_incidents(tmp_path / "inc.geojson", xy, times, cats)
    lon, lat = TO_WGS84.transform(centres[:, 0], centres[:, 1])
    sites = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [a, b]},
         "properties": {"id": f"S{i}", "range_m": 10 + 2 * i}}
        for i, (a, b) in enumerate(zip(lon, lat, strict=True))]}
    (tmp_path / "sites.geojson").write_text(json.dumps(sites))
    scored = tmp_path / "scored.geojson"
    code = run_app(app, ["score-sites", "--incidents", inc, "--sites",
                         str(tmp_path / "sites.geojson"), "--level", "visible",
                         "--half-life-days", "90", "--out", str(scored)])
    assert code == 0
    table = gpd.read_file(scored)
    assert (table["covered_incidents"] >= 3).sum() >= 3  # the old rule showed these
    page = _map(tmp_path, "m.html", "--incidents", inc, "--sites", str(scored))
    text = page.read_text("utf-8")
    leaked = []
    for _, r in table.iterrows():
        for col in ("covered_weight", "marginal_weight", "score"):
            v = float(r[col])
            if v <= 0 or v == round(v):
                continue
            for d in (2, 3, 4):
                for s in (f"{v:.{d}f}", f"{v:.{d}f}".replace(".", ",")):
                    if re.search(rf"(?<![\d.,]){re.escape(s)}(?![\d])", text):
                        leaked.append((r["id"], col, s))
    assert not leaked, leaked[:10]
