"""``tryggkarta lagesbild`` and ``GET /exports/lagesbild``: the contract's interface.

Inputs are written as the user would give them (GeoJSON in WGS84, local times without
an offset, Polisen's events JSON); the figures are checked against counts made by hand.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from scipy import stats

from api.cli import app as cli_app
from api.cli._common import run_app
from api.http.app import create_app
from api.http.security import hash_token
from api.settings import Settings

X0, Y0 = 674_000.0, 6_580_000.0
TO_WGS84 = Transformer.from_crs(3006, 4326, always_xy=True)
TOKEN = "planner-token-lagesbild"
H = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "a-secret-for-the-lagesbild-tests"


def _lonlat(x: float, y: float) -> list[float]:
    lon, lat = TO_WGS84.transform(x, y)
    return [round(lon, 8), round(lat, 8)]


def _square(x0: float, y0: float, side: float) -> dict:
    ring = [_lonlat(x, y) for x, y in ((x0, y0), (x0 + side, y0), (x0 + side, y0 + side),
                                        (x0, y0 + side), (x0, y0))]
    return {"type": "Polygon", "coordinates": [ring]}


# (local time without offset, category, x, y): A is the square X0..X0+200
ROWS = [
    ("2026-11-01T00:30", "Klotter", X0 + 50, Y0 + 50),        # November (23:30Z Oct 31)
    ("2026-10-31T23:30", "Klotter", X0 + 50, Y0 + 50),        # October
    ("2026-11-15T12:00", "Rån", X0 + 150, Y0 + 150),          # November
    ("2026-11-20T22:00", "Skadegörelse", X0 + 120, Y0 + 40),  # November, insecurity group
    ("2026-11-21T03:00", "Rån", X0 + 900, Y0 + 900),          # November, outside A
    ("2025-11-10T12:00", "Rån", X0 + 60, Y0 + 60),            # last year
    ("2025-11-11T12:00", "Rån", X0 + 60, Y0 + 60),            # last year
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("lb-cli")
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": _lonlat(x, y)},
              "properties": {"id": f"I{i}", "time": t, "category": c}}
             for i, (t, c, x, y) in enumerate(ROWS)]
    (d / "brott.geojson").write_text(json.dumps({"type": "FeatureCollection",
                                                 "features": feats}), encoding="utf-8")
    areas = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "A", "name": "Centrum"},
         "geometry": _square(X0, Y0, 200)},
        {"type": "Feature", "properties": {"id": "B", "name": "Norr"},
         "geometry": _square(X0, Y0 + 500, 200)}]}
    (d / "omraden.geojson").write_text(json.dumps(areas), encoding="utf-8")
    no_id = json.loads(json.dumps(areas))
    del no_id["features"][1]["properties"]["id"]
    (d / "utan_id.geojson").write_text(json.dumps(no_id), encoding="utf-8")
    (d / "enkat.csv").write_text("area_id;otrygg_kvall_pct\nA;31,5\nB;12\n", encoding="utf-8")
    # Polisen's events: the position is the municipality's centre, inside area A here
    gps = ",".join(str(v) for v in reversed(_lonlat(X0 + 100, Y0 + 100)))
    events = [{"id": 100 + i, "datetime": f"2026-11-{5 + i:02d} 10:00:00 +01:00",
               "name": f"05 november 10.00, Rån, Stockholm {i}", "summary": "x",
               "url": "/x", "type": "Rån", "location": {"name": "Stockholm", "gps": gps}}
              for i in range(3)]
    (d / "polisen.json").write_text(json.dumps(events), encoding="utf-8")
    return {"dir": d, "inc": d / "brott.geojson", "areas": d / "omraden.geojson",
            "no_id": d / "utan_id.geojson", "survey": d / "enkat.csv",
            "polisen": d / "polisen.json"}


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = run_app(cli_app, argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _counts(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "lagesbild_counts.csv", keep_default_na=False)


def _row(c: pd.DataFrame, area: str = "ALL", category: str = "ALL", level: str = "all"):
    hit = c[(c["area_id"] == area) & (c["category"] == category) & (c["level"] == level)]
    assert len(hit) == 1, (area, category, level)
    return hit.iloc[0]


def test_cli_writes_the_folder_with_hand_counted_figures(files, tmp_path, capsys):
    out = tmp_path / "lb"
    code, stdout, err = _run(["lagesbild", "--incidents", str(files["inc"]), "--areas",
                              str(files["areas"]), "--period", "2026-11", "--survey",
                              str(files["survey"]), "--title", "Provkommun", "--out",
                              str(out)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        "lagesbild.html", "lagesbild.pdf", "lagesbild.xlsx", "lagesbild_counts.csv",
        "lagesbild_monthly.csv", "lagesbild_monthly_detail.csv"]
    c = _counts(out)
    assert c.columns[:8].tolist() == ["area_id", "area_name", "category", "count",
                                      "previous", "last_year", "p_previous", "p_last_year"]
    whole = _row(c)
    assert (whole["count"], whole["previous"], whole["last_year"]) == (4, 1, 2)
    assert float(whole["p_previous"]) == pytest.approx(stats.binomtest(4, 5, 0.5).pvalue)
    assert float(whole["p_last_year"]) == pytest.approx(stats.binomtest(4, 6, 0.5).pvalue)
    a = _row(c, "A")
    assert (a["count"], a["previous"], a["last_year"], a["area_name"]) == (3, 1, 2, "Centrum")
    b = _row(c, "B")
    assert (b["count"], b["previous"], b["last_year"]) == (0, 0, 0)
    assert b["p_previous"] == "" and b["p_last_year"] == ""
    assert _row(c, "A", "otrygghetsskapande", "group")["count"] == 2  # klotter, skadegörelse
    assert _row(c, category="Rån", level="category")["count"] == 2
    monthly = pd.read_csv(out / "lagesbild_monthly.csv")
    # the contract's table: one row per area and month (ALL, A, B: 3 x 24), all categories
    assert not monthly.duplicated(["area_id", "month"]).any() and len(monthly) == 3 * 24
    a_series = monthly[monthly["area_id"] == "A"]
    assert len(a_series) == 24 and set(a_series["category"]) == {"ALL"}
    detail = pd.read_csv(out / "lagesbild_monthly_detail.csv")
    rån = detail[(detail["area_id"] == "ALL") & (detail["category"] == "Rån")]
    assert len(rån) == 24 and rån.set_index("month").loc["2026-11", "count"] == 2
    assert a_series.set_index("month").loc[["2026-11", "2026-10", "2025-11"],
                                           "count"].tolist() == [3, 1, 2]
    html = (out / "lagesbild.html").read_text(encoding="utf-8")
    assert '<html lang="sv">' in html and "Lägesbild november 2026: Provkommun" in html
    assert "otrygg_kvall_pct" in html and "31,5" in html
    assert "brott.geojson" in html and str(files["dir"]) not in html
    assert "2026-11" in stdout and "4 incidents" in stdout


def test_cli_english_and_several_months(files, tmp_path, capsys):
    out = tmp_path / "en"
    code, _, err = _run(["lagesbild", "--incidents", str(files["inc"]), "--period",
                         "2026-11", "--months", "2", "--lang", "en", "--no-pdf", "--out",
                         str(out)], capsys)
    assert code == 0, err
    html = (out / "lagesbild.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Situation picture October 2026–November 2026" in html
    assert not (out / "lagesbild.pdf").exists()
    whole = _row(_counts(out))
    # October + November 2026 = 5; previous = August + September = 0; a year earlier = 2
    assert (whole["count"], whole["previous"], whole["last_year"]) == (5, 0, 2)


def test_polisen_events_count_in_the_whole_layer_only(files, tmp_path, capsys):
    out = tmp_path / "pol"
    code, _, err = _run(["lagesbild", "--incidents", str(files["polisen"]), "--areas",
                         str(files["areas"]), "--period", "2026-11", "--no-pdf", "--out",
                         str(out)], capsys)
    assert code == 0, err
    c = _counts(out)
    assert _row(c)["count"] == 3
    assert _row(c, "A")["count"] == 0   # the municipality's centre lies in A: not counted
    assert _row(c, category="municipality", level="precision")["count"] == 3
    html = (out / "lagesbild.html").read_text(encoding="utf-8")
    assert "kända bara till kommun" in html


def test_public_cli_publishes_protected_counts(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRYGGKARTA_SDC_SECRET", SECRET)
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "var"))
    exact, pub = tmp_path / "exact", tmp_path / "pub"
    for folder, extra in ((exact, []), (pub, ["--public"])):
        code, _, err = _run(["lagesbild", "--incidents", str(files["inc"]), "--areas",
                             str(files["areas"]), "--period", "2026-11", "--no-pdf",
                             "--out", str(folder), *extra], capsys)
        assert code == 0, err
    # rows are ordered by published counts, and a category whose published figures are
    # all 0 is not listed: compare the rows both have
    key = ["area_id", "level", "category"]
    both = _counts(exact).merge(_counts(pub), on=key, suffixes=("_e", "_p"),
                                validate="one_to_one")
    assert len(both) == len(_counts(pub))
    e = both.rename(columns={f"{c}_e": c for c in ("count", "previous", "last_year")})
    p = both.rename(columns={f"{c}_p": c for c in ("count", "previous", "last_year",
                                                    "p_previous")})
    for col in ("count", "previous", "last_year"):
        assert not p[col].isin([1, 2]).any()
        assert ((p[col] - e[col]).abs() <= 3).all()
    # the p-values are those of the published counts
    ok = (p["count"] + p["previous"]) > 0
    got = p.loc[ok, "p_previous"].astype(float).to_numpy()
    want = [stats.binomtest(int(k), int(k + r), 0.5).pvalue
            for k, r in zip(p.loc[ok, "count"], p.loc[ok, "previous"], strict=True)]
    assert np.allclose(got, want)
    html = (pub / "lagesbild.html").read_text(encoding="utf-8")
    assert "Offentlig version" in html and "cellnyckelmetoden" in html
    for _t, _c, x, y in ROWS:
        lon, lat = _lonlat(x, y)
        for v in (lon, lat, x, y):
            assert f"{v}" not in html


@pytest.mark.parametrize("argv, code, fragment", [
    (["--period", "2026-13"], 2, "--period 2026-13: not a month (use YYYY-MM"),
    (["--period", "nov"], 2, "--period nov: not a month"),
    (["--period", "2026-11", "--months", "13"], 2, "--months 13: a whole number from 1 to 12"),
    (["--period", "2026-11", "--lang", "de"], 2, "--lang de: one of sv, en expected"),
    (["--period", "2026-11", "--survey", "x.csv"], 2, "--survey: needs --areas"),
])
def test_bad_options_are_clear_and_write_nothing(files, tmp_path, capsys, argv, code,
                                                 fragment):
    out = tmp_path / "bad"
    got, _, err = _run(["lagesbild", "--incidents", str(files["inc"]), *argv, "--out",
                        str(out)], capsys)
    assert got == code and fragment in err and "Traceback" not in err, err
    assert not out.exists()


def test_areas_without_id_name_the_file_and_feature(files, tmp_path, capsys):
    out = tmp_path / "noid"
    got, _, err = _run(["lagesbild", "--incidents", str(files["inc"]), "--areas",
                        str(files["no_id"]), "--period", "2026-11", "--out", str(out)],
                       capsys)
    assert got == 1, err
    assert f"{files['no_id']}: feature 1: missing id" in err
    assert not out.exists()


def test_out_is_a_file(files, tmp_path, capsys):
    f = tmp_path / "x.txt"
    f.write_text("keep")
    got, _, err = _run(["lagesbild", "--incidents", str(files["inc"]), "--period", "2026-11",
                        "--out", str(f)], capsys)
    assert got == 1 and "must be a folder" in err
    assert f.read_text() == "keep"


# --------------------------------------------------------------------------- HTTP


@pytest.fixture(scope="module")
def api(files, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lb-api")
    tokens = tmp / "tokens.txt"
    tokens.write_text(f"planner {hash_token(TOKEN)} test\n")
    settings = Settings(data_dir=tmp / "var", database_url="", tokens_file=tokens,
                        sdc_secret=SECRET)
    client = TestClient(create_app(settings))
    for kind, name, path in (("incidents", "brott", files["inc"]),
                             ("areas", "omraden", files["areas"])):
        r = client.post("/datasets", headers=H, data={"kind": kind, "name": name},
                        files={"file": (path.name, path.read_bytes())})
        assert r.status_code == 201, r.text
    return client, tmp


def test_http_answers_the_same_files_as_the_cli(api, files, tmp_path, capsys, monkeypatch):
    client, tmp = api
    q = {"incidents": "brott", "areas": "omraden", "period": "2026-11"}
    r = client.get("/exports/lagesbild", params={**q, "format": "counts"}, headers=H)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp / "var"))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    out = tmp_path / "db"
    code, _, err = _run(["lagesbild", "--incidents", "db:brott", "--areas", "db:omraden",
                         "--period", "2026-11", "--no-pdf", "--out", str(out)], capsys)
    assert code == 0, err
    assert r.content == (out / "lagesbild_counts.csv").read_bytes()
    html = client.get("/exports/lagesbild", params={**q, "lang": "en"}, headers=H)
    assert html.status_code == 200 and '<html lang="en">' in html.text
    z = client.get("/exports/lagesbild", params={**q, "format": "zip"}, headers=H)
    names = set(zipfile.ZipFile(io.BytesIO(z.content)).namelist())
    assert {"lagesbild.html", "lagesbild_counts.csv", "lagesbild_monthly.csv",
            "lagesbild.xlsx"} <= names
    pdf = client.get("/exports/lagesbild", params={**q, "format": "pdf"}, headers=H)
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"


def test_http_public_and_bad_parameters(api):
    client, _ = api
    q = {"incidents": "brott", "areas": "omraden", "period": "2026-11", "format": "counts"}
    key = ["area_id", "level", "category"]
    exact = pd.read_csv(io.StringIO(client.get("/exports/lagesbild", params=q,
                                               headers=H).text))
    pub = pd.read_csv(io.StringIO(client.get("/exports/lagesbild",
                                             params={**q, "public": "true"},
                                             headers=H).text))
    both = exact.merge(pub, on=key, suffixes=("_e", "_p"), validate="one_to_one")
    assert len(both) == len(pub)
    assert not pub["count"].isin([1, 2]).any()
    assert ((both["count_p"] - both["count_e"]).abs() <= 3).all()
    r = client.get("/exports/lagesbild", params={**q, "period": "2026-13"}, headers=H)
    assert r.status_code == 422 and r.json()["code"] == "parameter_error"
    r = client.get("/exports/lagesbild", params={**q, "lang": "de"}, headers=H)
    assert r.status_code == 422
    r = client.get("/exports/lagesbild", params=q)
    assert r.status_code == 401
