"""Never a 5xx: schemathesis generates requests for every operation of the OpenAPI document.

The app runs in-process (ASGI) on the GeoPackage backend with small hand-made datasets
stored under the names used in the OpenAPI examples, so the explicit examples reach real
analyses and the generated cases probe every parameter's edges. Read-only operations run
first (planner and reviewer), then uploads, then deletes. Bounded: a few examples per
operation, well under a minute on two cores.
"""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from shapely import Point, box

from api.http.app import create_app
from api.http.security import hash_token
from api.settings import Settings

PLANNER, REVIEWER = "schema-planner", "schema-reviewer"
X0, Y0 = 674000.0, 6580000.0
EXAMPLES_PER_OPERATION = 25


def _layers() -> dict[str, tuple[str, gpd.GeoDataFrame]]:
    pts = [Point(X0 + 50, Y0 + 50), Point(X0 + 60, Y0 + 55), Point(X0 + 250, Y0 + 250)]
    cam = {"height_m": [4.0, 5.0], "azimuth_deg": [0.0, 90.0], "fov_deg": [90.0, 60.0],
           "resolution_px": [1920, 3840]}
    return {
        "brott": ("incidents", gpd.GeoDataFrame(
            {"id": ["a", "b", "c"], "time": ["2025-05-01T22:10", "2025-05-02T12:00",
                                             "2025-06-03T02:30"],
             "category": ["Stöld", "Rån", "Misshandel"]}, geometry=pts, crs=3006)),
        "platser": ("sites", gpd.GeoDataFrame(
            {"id": ["S1", "S2"], **cam, "cost_sek": [100.0, 50.0]},
            geometry=[Point(X0 + 50, Y0 + 30), Point(X0 + 230, Y0 + 250)], crs=3006)),
        "kameror": ("cameras", gpd.GeoDataFrame(
            {"id": ["K1", "K2"], **cam},
            geometry=[Point(X0, Y0), Point(X0 + 100, Y0 + 100)], crs=3006)),
        "byggnader": ("buildings", gpd.GeoDataFrame(
            {"id": ["B1"]}, geometry=[box(X0 + 20, Y0 + 10, X0 + 40, Y0 + 20)], crs=3006)),
        "kansliga": ("sensitive", gpd.GeoDataFrame(
            {"kind": ["school"]}, geometry=[Point(X0 + 55, Y0 + 60).buffer(5)], crs=3006)),
        "omraden": ("areas", gpd.GeoDataFrame(
            {"id": ["A1", "A2"], "name": ["Torget", "Parken"]},
            geometry=[box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 200, Y0 + 200, X0 + 300,
                                                           Y0 + 300)], crs=3006)),
    }


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schema")
    tokens = tmp / "tokens.txt"
    tokens.write_text(f"planner {hash_token(PLANNER)} p\nreviewer {hash_token(REVIEWER)} r\n")
    application = create_app(Settings(data_dir=tmp / "var", database_url="",
                                      tokens_file=tokens, max_upload_mb=1,
                                      request_timeout_s=10))
    client = TestClient(application)
    for name, (kind, frame) in _layers().items():
        path = tmp / f"{name}.geojson"
        frame.to_crs(4326).to_file(path, driver="GeoJSON")
        r = client.post("/datasets", headers={"Authorization": f"Bearer {PLANNER}"},
                        data={"kind": kind, "name": name},
                        files={"file": (path.name, path.read_bytes())})
        assert r.status_code == 201, r.text
    return application


#: Query parameters naming a stored dataset, and the stored dataset of that kind.
STORED = {"incidents": "brott", "sites": "platser", "cameras": "kameror",
          "buildings": "byggnader", "sensitive": "kansliga", "areas": "omraden",
          "area": "A1"}


def _use_stored(case) -> None:
    """Point the dataset parameters at stored datasets, so analyses really run."""
    for key, name in STORED.items():
        if case.query and key in case.query:
            case.query[key] = name
    if case.path_parameters and "name" in case.path_parameters:
        case.path_parameters["name"] = "brott"


def _run(schema, method_filter, token_strategy) -> tuple[list[str], Counter]:
    failures: list[str] = []
    seen: Counter = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not method_filter(operation.method.upper()):
            continue

        @given(case=operation.as_strategy(), token=token_strategy,
               stored=st.sampled_from([True, True, False]))
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  derandomize=True, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def check(case, token, stored):
            if stored:
                _use_stored(case)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # noqa: BLE001 - an unhandled error is a 5xx too
                failures.append(f"{case.method} {case.formatted_path} {case.query} raised "
                                f"{type(exc).__name__}: {str(exc)[:300]}")
                return
            seen[(case.method.upper(), case.path, response.status_code)] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} -> "
                                f"{response.status_code}: {response.text[:300]}")

        check()
    return failures, seen


def test_no_input_gives_a_server_error(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tokens = st.sampled_from([PLANNER, PLANNER, REVIEWER, None, "bogus"])
    failures, seen = _run(schema, lambda m: m == "GET", tokens)
    more, seen_post = _run(schema, lambda m: m == "POST", st.just(PLANNER))
    rest, seen_rest = _run(schema, lambda m: m not in ("GET", "POST"), tokens)
    assert not failures + more + rest, "\n".join((failures + more + rest)[:20])
    seen.update(seen_post)
    seen.update(seen_rest)
    # the run reached the analyses themselves, not only the error paths
    for path in ("/analyses/density", "/analyses/coverage", "/analyses/score-sites",
                 "/analyses/select-sites", "/analyses/score-areas", "/analyses/propose-areas",
                 "/analyses/when", "/exports/map", "/exports/area-report",
                 "/datasets/{name}"):
        assert seen[("GET", path, 200)] > 0, (path, seen)
    assert seen[("DELETE", "/datasets/{name}", 204)] + seen[
        ("DELETE", "/datasets/{name}", 404)] > 0
