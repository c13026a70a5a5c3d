"""The command line: clear messages and exit codes, never a traceback."""

from __future__ import annotations

import json

import pytest
import typer

from api.cli import app
from api.cli._common import run_app

GOOD = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [18.0686, 59.3326]},
     "properties": {"id": "K1", "height_m": 6, "azimuth_deg": 90}}]}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = run_app(app, list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def command_names() -> list[list[str]]:
    group = typer.main.get_command(app)
    names = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            names += [[name, sub] for sub in cmd.commands]
        names.append([name])
    return names


@pytest.mark.parametrize("argv", command_names(), ids=" ".join)
def test_every_command_has_help(capsys, argv):
    code, out, err = run(capsys, *argv, "-h")
    assert code == 0, err
    assert "Usage" in out


def test_validate_ok(capsys, tmp_path):
    p = tmp_path / "sites.geojson"
    p.write_text(json.dumps(GOOD))
    code, out, err = run(capsys, "validate", "sites", str(p))
    assert code == 0, err
    assert f"{p}: 1 valid sites features" in out


def test_validate_reports_every_bad_feature_without_traceback(capsys, tmp_path):
    doc = {"type": "FeatureCollection", "features": GOOD["features"] * 3}
    doc["features"] = [dict(f) for f in doc["features"]]
    doc["features"][2] = {**doc["features"][2], "properties": {"id": "K3", "fov_deg": 500}}
    p = tmp_path / "sites.geojson"
    p.write_text(json.dumps(doc))
    code, out, err = run(capsys, "validate", "sites", str(p))
    assert code == 1
    assert "Traceback" not in err + out
    assert f"{p}: feature 0: duplicate id 'K1' (also feature 1)" in err
    assert f"{p}: feature 1: duplicate id 'K1' (also feature 0)" in err
    assert f"{p}: feature 2: fov_deg must be above 0 and at most 360 degrees, got 500" in err


def test_validate_skip_invalid_reports_what_was_skipped(capsys, tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        GOOD["features"][0],
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.35, 48.86]},
         "properties": {"id": "P"}}]}
    p = tmp_path / "sites.geojson"
    p.write_text(json.dumps(doc))
    code, out, err = run(capsys, "validate", "sites", str(p), "--skip-invalid")
    assert code == 0
    assert "skipped 1 invalid features" in err
    assert "feature 1: coordinates outside Sweden" in err
    assert "1 valid sites features" in out


def test_site_inside_a_building(capsys, tmp_path):
    # A building around the site point: a 0.002 x 0.001 degree box (about 110 x 110 m)
    lon, lat = 18.0686, 59.3326
    ring = [[lon - 0.001, lat - 0.0005], [lon + 0.001, lat - 0.0005],
            [lon + 0.001, lat + 0.0005], [lon - 0.001, lat + 0.0005], [lon - 0.001, lat - 0.0005]]
    b = tmp_path / "b.geojson"
    b.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    s = tmp_path / "s.geojson"
    s.write_text(json.dumps(GOOD))
    code, _, err = run(capsys, "validate", "sites", str(s), "--buildings", str(b))
    assert code == 1
    assert f"{s}: feature 0: the camera point lies" in err and "inside building 0" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("{not json", "not valid JSON"),
        ('{"type": "Topology"}', "not GeoJSON"),
    ],
)
def test_unreadable_inputs(capsys, tmp_path, content, message):
    p = tmp_path / "x.geojson"
    p.write_text(content)
    code, out, err = run(capsys, "validate", "incidents", str(p))
    assert code == 1 and message in err and "Traceback" not in err


def test_unknown_kind_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "validate", "bikes", str(tmp_path))
    assert code == 2 and "unknown kind 'bikes'" in err
