"""One application layer: the same bad parameter gives the same message and the same
refusal on the command line and over HTTP (issue 10, docs/architecture.md).

Both interfaces work on the same embedded store: the API's uploads are read by the CLI
as ``db:NAME``, so every message names the same sources. A parameter is spelled as
each interface spells it (``--cell`` / ``cell_m``); apart from that the messages agree
character for character.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.cli import app as cli_app
from api.cli._common import run_app
from api.http.app import create_app
from api.http.security import hash_token
from api.service.data import LAYER_KINDS
from api.service.errors import ParameterError, cli_option
from api.settings import Settings

TOKEN = "planner-token-for-the-service-table"
H = {"Authorization": f"Bearer {TOKEN}"}
X0, Y0 = 674000.0, 6580000.0
INCIDENTS = (
    "id,x,y,time,category\n"
    f"a,{X0 + 50},{Y0 + 50},2025-05-01T22:10,Stöld\n"
    f"b,{X0 + 50},{Y0 + 60},2025-05-02T12:00,Rån\n"
    f"c,{X0 + 250},{Y0 + 250},2025-06-03T02:30,Stöld\n"
)
SITES = ("id,x,y,height_m,cost_sek\n"
         f"S1,{X0 + 50},{Y0 + 30},4,50000\nS2,{X0 + 250},{Y0 + 230},4,80000\n")
AREAS = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
         '{"id":"A1","name":"Torget"},"geometry":{"type":"Polygon","coordinates":'
         '[[[18.07,59.33],[18.08,59.33],[18.08,59.34],[18.07,59.34],[18.07,59.33]]]}}]}')


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("service")
    tokens = tmp / "tokens.txt"
    tokens.write_text(f"planner {hash_token(TOKEN)} table\n")
    settings = Settings(data_dir=tmp / "var", database_url="", tokens_file=tokens)
    client = TestClient(create_app(settings))
    for kind, name, filename, text, crs in (
            ("incidents", "brott", "brott.csv", INCIDENTS, "EPSG:3006"),
            ("sites", "platser", "platser.csv", SITES, "EPSG:3006"),
            ("areas", "omraden", "omraden.geojson", AREAS, None)):
        r = client.post("/datasets", headers=H, data={"kind": kind, "name": name,
                                                      **({"crs": crs} if crs else {})},
                        files={"file": (filename, text.encode())})
        assert r.status_code == 201, r.text
    return client, tmp


# (case, CLI argv (without --out), HTTP path and query, CLI exit, HTTP status, code,
#  the parameters the message names, a fragment of the message)
CASES = [
    ("extent-three-numbers", ["density", "--incidents", "db:brott", "--extent", "1,2,3"],
     ("/analyses/density", {"incidents": "brott", "extent": "1,2,3"}),
     2, 422, "parameter_error", ["extent"], "four numbers minx,miny,maxx,maxy"),
    ("extent-reversed", ["density", "--incidents", "db:brott", "--extent", "5,5,1,1"],
     ("/analyses/density", {"incidents": "brott", "extent": "5,5,1,1"}),
     2, 422, "parameter_error", ["extent"], "minx < maxx"),
    ("extent-not-finite", ["density", "--incidents", "db:brott", "--extent", "nan,0,1,1"],
     ("/analyses/density", {"incidents": "brott", "extent": "nan,0,1,1"}),
     2, 422, "parameter_error", ["extent"], "four numbers"),
    ("emerging-extent", ["emerging-hotspots", "--incidents", "db:brott", "--extent", "a"],
     ("/analyses/emerging-hotspots", {"incidents": "brott", "extent": "a"}),
     2, 422, "parameter_error", ["extent"], "four numbers"),
    ("emerging-time-window", ["emerging-hotspots", "--incidents", "db:brott",
                              "--time-window", "0"],
     ("/analyses/emerging-hotspots", {"incidents": "brott", "time_window": 0}),
     2, 422, "parameter_error", ["time_window"], "a whole number of months ≥ 1"),
    # issue 16, "no 5xx, whatever the numbers"
    ("cell-denormal", ["density", "--incidents", "db:brott", "--cell", "1e-320"],
     ("/analyses/density", {"incidents": "brott", "cell_m": "1e-320"}),
     1, 422, "parameter_error", ["cell_m"], "a number of metres from 0.01 to 100,000"),
    ("bandwidth-denormal", ["density", "--incidents", "db:brott", "--bandwidth", "1e-320"],
     ("/analyses/density", {"incidents": "brott", "bandwidth_m": "1e-320"}),
     1, 422, "parameter_error", ["bandwidth_m"], "a number of metres from 0.01 to 100,000"),
    ("bandwidth-huge", ["density", "--incidents", "db:brott", "--bandwidth", "1e300"],
     ("/analyses/density", {"incidents": "brott", "bandwidth_m": "1e300"}),
     1, 422, "parameter_error", ["bandwidth_m"], "a number of metres from 0.01 to 100,000"),
    ("emerging-cell-denormal", ["emerging-hotspots", "--incidents", "db:brott", "--cell",
                                "1e-320"],
     ("/analyses/emerging-hotspots", {"incidents": "brott", "cell_m": "1e-320"}),
     1, 422, "parameter_error", ["cell_m"], "a number of metres from 0.01 to 100,000"),
    ("extent-whole-float-range", ["density", "--incidents", "db:brott",
                                  "--extent=-1e308,-1e308,1e308,1e308"],
     ("/analyses/density", {"incidents": "brott", "extent": "-1e308,-1e308,1e308,1e308"}),
     1, 422, "parameter_error", ["extent"], "wider or higher than 2,000 km"),
    ("emerging-extent-whole-float-range", ["emerging-hotspots", "--incidents", "db:brott",
                                           "--extent=-1e308,-1e308,1e308,1e308"],
     ("/analyses/emerging-hotspots", {"incidents": "brott",
                                      "extent": "-1e308,-1e308,1e308,1e308"}),
     1, 422, "parameter_error", ["extent"], "wider or higher than 2,000 km"),
    ("extent-in-lon-lat", ["density", "--incidents", "db:brott", "--extent",
                           "18.0,59.3,18.1,59.4"],
     ("/analyses/density", {"incidents": "brott", "extent": "18.0,59.3,18.1,59.4"}),
     1, 422, "parameter_error", ["extent"], "outside Sweden: EPSG:3006 metres expected"),
    ("as-of-no-date", ["density", "--incidents", "db:brott", "--as-of", "2025-02-30"],
     ("/analyses/density", {"incidents": "brott", "as_of": "2025-02-30"}),
     2, 422, "parameter_error", ["as_of"], "not a date"),
    ("as-of-out-of-range", ["score-areas", "--incidents", "db:brott", "--areas",
                            "db:omraden", "--as-of", "1800-01-01"],
     ("/analyses/score-areas", {"incidents": "brott", "areas": "omraden",
                                "as_of": "1800-01-01"}),
     2, 422, "parameter_error", ["as_of"], "between 1900 and 2199"),
    ("every-weight-zero", ["score-sites", "--incidents", "db:brott", "--sites",
                           "db:platser", "--as-of", "2199-12-31", "--half-life-days", "1"],
     ("/analyses/score-sites", {"incidents": "brott", "sites": "platser",
                                "as_of": "2199-12-31", "half_life_days": 1}),
     1, 422, "analysis_error", ["as_of", "half_life_days"], "has weight 0"),
    ("levels-unknown", ["coverage", "--cameras", "db:platser", "--levels", "observe,foo"],
     ("/analyses/coverage", {"cameras": "platser", "levels": "observe,foo"}),
     2, 422, "parameter_error", ["levels"], "unknown foo"),
    ("k-and-budget", ["select-sites", "--incidents", "db:brott", "--sites", "db:platser",
                      "--k", "1", "--budget", "90000"],
     ("/analyses/select-sites", {"incidents": "brott", "sites": "platser", "k": 1,
                                 "budget": 90000}),
     2, 422, "parameter_error", ["k", "budget"], "exactly one of"),
    ("neither-k-nor-budget", ["select-sites", "--incidents", "db:brott", "--sites",
                              "db:platser"],
     ("/analyses/select-sites", {"incidents": "brott", "sites": "platser"}),
     2, 422, "parameter_error", ["k", "budget"], "exactly one of"),
    ("budget-below-every-site", ["select-sites", "--incidents", "db:brott", "--sites",
                                 "db:platser", "--budget", "10000", "--level", "visible"],
     ("/analyses/select-sites", {"incidents": "brott", "sites": "platser",
                                 "budget": 10000, "level": "visible"}),
     1, 422, "analysis_error", ["budget"], "the cheapest, S1, costs 50,000 SEK"),
    ("area-without-areas", ["when", "--incidents", "db:brott", "--area", "A1"],
     ("/analyses/when", {"incidents": "brott", "area": "A1"}),
     2, 422, "parameter_error", ["area", "areas"], "together"),
    ("unknown-area", ["when", "--incidents", "db:brott", "--areas", "db:omraden", "--area",
                      "X9"],
     ("/analyses/when", {"incidents": "brott", "areas": "omraden", "area": "X9"}),
     1, 422, "input_error", [], "no area with id 'X9' (ids: A1)"),
    ("filters-match-nothing", ["density", "--incidents", "db:brott", "--categories",
                               "Bedrägeri"],
     ("/analyses/density", {"incidents": "brott", "categories": "Bedrägeri"}),
     1, 422, "empty_layer", [], "no incident matches the filters"),
    ("bad-hours", ["density", "--incidents", "db:brott", "--hours", "25-3"],
     ("/analyses/density", {"incidents": "brott", "hours": "25-3"}),
     1, 422, "input_error", [], "25"),
    ("wrong-kind", ["density", "--incidents", "db:omraden"],
     ("/analyses/density", {"incidents": "omraden"}),
     1, 422, "input_error", [], "omraden"),
    ("evaluate-months-zero", ["evaluate", "--incidents", "db:brott", "--treated",
                              "db:omraden", "--months", "0"],
     ("/analyses/evaluate", {"incidents": "brott", "treated": "omraden", "months": 0}),
     2, 422, "parameter_error", ["months"], "from 1 to 120"),
    ("evaluate-bad-start", ["evaluate", "--incidents", "db:brott", "--treated",
                            "db:omraden", "--start", "2024-02-30"],
     ("/analyses/evaluate", {"incidents": "brott", "treated": "omraden",
                             "start": "2024-02-30"}),
     2, 422, "parameter_error", ["start"], "YYYY-MM-DD"),
    ("evaluate-public-ring", ["evaluate", "--incidents", "db:brott", "--treated",
                              "db:omraden", "--public", "--buffer-m", "50"],
     ("/analyses/evaluate", {"incidents": "brott", "treated": "omraden", "public": True,
                             "buffer_m": 50}),
     2, 422, "parameter_error", ["buffer_m"], "500 m ring"),
    ("evaluate-no-start", ["evaluate", "--incidents", "db:brott", "--treated",
                           "db:omraden"],
     ("/analyses/evaluate", {"incidents": "brott", "treated": "omraden"}),
     1, 422, "input_error", [], "no start date"),
    ("lagesbild-bad-period", ["lagesbild", "--incidents", "db:brott", "--period", "2026-13"],
     ("/exports/lagesbild", {"incidents": "brott", "period": "2026-13"}),
     2, 422, "parameter_error", ["period"], "not a month (use YYYY-MM"),
    ("lagesbild-months-13", ["lagesbild", "--incidents", "db:brott", "--period", "2026-11",
                             "--months", "13"],
     ("/exports/lagesbild", {"incidents": "brott", "period": "2026-11", "months": 13}),
     2, 422, "parameter_error", ["months"], "from 1 to 12"),
    ("lagesbild-months-0", ["lagesbild", "--incidents", "db:brott", "--period", "2026-11",
                            "--months", "0"],
     ("/exports/lagesbild", {"incidents": "brott", "period": "2026-11", "months": 0}),
     2, 422, "parameter_error", ["months"], "from 1 to 12"),
    ("no-such-dataset", ["density", "--incidents", "db:saknas"],
     ("/analyses/density", {"incidents": "saknas"}),
     1, 404, "not_found", [], "saknas"),
]


def _cli_spelling(detail: str, params: list[str]) -> str:
    """The HTTP message with each named parameter spelled as its CLI option."""
    import re

    if not params:
        return detail
    pattern = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, params), key=len,
                                                          reverse=True)) + r")(?![\w-])")
    return pattern.sub(lambda m: cli_option(m[1]), detail)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_bad_parameter_is_refused_alike_on_both_interfaces(case, world, capsys,
                                                             monkeypatch):
    _, argv, (path, query), exit_code, status, code, params, fragment = case
    client, tmp = world
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp / "var"))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    out = tmp / f"{case[0]}.csv"

    r = client.get(path, params=query, headers=H)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code
    detail = body["detail"]
    assert fragment in detail

    got = run_app(cli_app, [*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert got == exit_code, err
    assert "Traceback" not in err and not out.exists()
    assert err.startswith("error: "), err
    assert err[len("error: "):].rstrip("\n") == _cli_spelling(detail, params)


def test_parameter_names_are_spelled_per_interface():
    e = ParameterError("cell_m", "a positive number of metres expected", value=-1.0)
    assert str(e) == "cell_m -1: a positive number of metres expected"
    assert e.render(cli_option) == "--cell -1: a positive number of metres expected"
    both = ParameterError("k", "give exactly one of {k} and {budget}")
    assert both.render(cli_option) == "--k: give exactly one of --k and --budget"


def test_layer_kinds_repeated_for_light_parsing_agree_with_geo():
    from api.service.common import LEVELS, SWEDEN_3006_BOUNDS
    from geo.camera import LEVELS as GEO_LEVELS
    from geo.crs import SWEDEN_3006_BOUNDS as GEO_BOUNDS
    from geo.layers import LAYER_KINDS as GEO_KINDS

    assert tuple(LAYER_KINDS) == tuple(GEO_KINDS)
    assert tuple(LEVELS) == tuple(GEO_LEVELS)
    assert tuple(SWEDEN_3006_BOUNDS) == tuple(GEO_BOUNDS)


def test_every_error_class_has_one_exit_code_and_one_status():
    import geo.errors as ge
    from api.cli._common import exit_code_for
    from api.http.errors import ERROR_STATUS, code_for, status_for
    from api.service.errors import UnmetParameterError

    classes = [ge.InputError, ge.CRSError, ge.EmptyLayerError, ge.AnalysisError,
               ge.NotFoundError, ParameterError, UnmetParameterError]
    for cls in classes:
        exc = (cls("p", "r") if issubclass(cls, ParameterError) else
               cls([ge.Problem("f", 0, "r")]) if issubclass(cls, ge.InputError) else cls("m"))
        assert exit_code_for(exc) in (1, 2)
        assert 400 <= status_for(exc) < 500
        assert code_for(exc) and code_for(exc) == code_for(exc).lower()
        assert "Error" not in code_for(exc)
    assert len({code for _, code in ERROR_STATUS.values()}) == len(ERROR_STATUS) - 1
