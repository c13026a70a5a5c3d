"""Seams between the commands found by the integration audit, one regression test each."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from api.cli import app
from api.cli._common import run_app

X0, Y0 = 674_000.0, 6_581_000.0


@pytest.fixture()
def cli(capsys, monkeypatch, tmp_path):
    """Run ``tryggkarta ARGS`` in-process in ``tmp_path``: (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = run_app(app, list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _monthly_scene(tmp_path):
    """Two incidents in each month of 2024 (local noon on the 15th), one area."""
    times = [f"2024-{m:02d}-15T12:00" for m in range(1, 13) for _ in range(2)]
    inc = gpd.GeoDataFrame({"id": [f"i{i}" for i in range(len(times))], "time": times,
                            "category": "Stöld"},
                           geometry=gpd.points_from_xy([X0 + 50] * len(times),
                                                       [Y0 + 50] * len(times)), crs=3006)
    inc.to_crs(4326).to_file(tmp_path / "inc.geojson", driver="GeoJSON")
    gpd.GeoDataFrame({"id": ["A1"]}, geometry=[box(X0, Y0, X0 + 100, Y0 + 100)], crs=3006
                     ).to_crs(4326).to_file(tmp_path / "areas.geojson", driver="GeoJSON")


def test_evaluate_notes_an_after_period_past_the_incidents(tmp_path, cli):
    _monthly_scene(tmp_path)
    code, _, err = cli("evaluate", "--incidents", "inc.geojson", "--treated", "areas.geojson",
                       "--start", "2024-10-01", "--months", "6", "--out", "ev.csv")
    assert code == 0, err
    # after = October 2024 to March 2025: January to March 2025 hold no data at all
    assert "A1: the after period 2024-10-01 to 2025-03-31 ends after the last incident " \
           "(2024-12-15)" in " ".join(err.split())
    assert "before period" not in err
    table = pd.read_csv(tmp_path / "ev.csv")
    assert int(table.loc[0, "a_after"]) == 6  # Oct, Nov, Dec: two each


def test_evaluate_inside_the_incidents_has_no_period_note(tmp_path, cli):
    _monthly_scene(tmp_path)
    code, _, err = cli("evaluate", "--incidents", "inc.geojson", "--treated", "areas.geojson",
                       "--start", "2024-07-01", "--months", "6", "--out", "ev.csv")
    assert code == 0, err
    assert "period" not in err
    table = pd.read_csv(tmp_path / "ev.csv")
    assert (int(table.loc[0, "a_before"]), int(table.loc[0, "a_after"])) == (12, 12)


def test_evaluate_treated_stored_incidents_names_both_kinds_it_takes(tmp_path, cli):
    _monthly_scene(tmp_path)
    code, _, err = cli("load", "incidents", "inc.geojson", "--name", "brott")
    assert code == 0, err
    code, out, err = cli("evaluate", "--incidents", "db:brott", "--treated", "db:brott",
                         "--start", "2024-07-01", "--out", "ev.csv")
    assert code == 1 and "Traceback" not in err
    assert "db:brott: the stored dataset holds incidents; the treated layer must be areas or " \
        "cameras" in " ".join(err.split())
    assert not (tmp_path / "ev.csv").exists()


def test_http_evaluate_treated_stored_incidents_is_one_clear_4xx(tmp_path):
    from fastapi.testclient import TestClient

    from api.http.app import create_app
    from api.http.security import hash_token
    from api.settings import Settings

    _monthly_scene(tmp_path)
    token = "p" * 32
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"planner {hash_token(token)} p\n")
    client = TestClient(create_app(Settings(data_dir=tmp_path / "var", database_url="",
                                            tokens_file=tokens)))
    auth = {"Authorization": f"Bearer {token}"}
    r = client.post("/datasets", headers=auth, data={"kind": "incidents", "name": "brott"},
                    files={"file": ("inc.geojson", (tmp_path / "inc.geojson").read_bytes())})
    assert r.status_code in (200, 201), r.text
    r = client.get("/analyses/evaluate", headers=auth,
                   params={"incidents": "brott", "treated": "brott", "start": "2024-07-01"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == ("db:brott: the stored dataset holds incidents; the treated "
                                  "layer must be areas or cameras")
