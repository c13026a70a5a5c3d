"""Tests of geo.weights: the severity table, the override file and recency decay."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.errors import InputError
from geo.weights import (
    DEFAULT_SEVERITY,
    DEFAULT_UNKNOWN_SEVERITY,
    incident_weights,
    load_severity,
    normalize_category,
    recency_factor,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paths import REAL  # noqa: E402

POLISEN = REAL / "polisen-events"


def test_order_violence_property_disorder():
    t = DEFAULT_SEVERITY
    for violent in ["misshandel", "rån", "personrån", "våldtäkt", "hot", "sexuellt ofredande"]:
        for prop in ["stöld", "inbrott", "skadegörelse"]:
            assert t[violent] > t[prop], (violent, prop)
    for prop in ["stöld", "inbrott", "skadegörelse"]:
        for dis in ["klotter", "fylleri", "ordningsstörning", "narkotikabrott"]:
            assert t[prop] > t[dis], (prop, dis)
    assert t["mord/dråp"] > t["misshandel"]
    assert t["sammanfattning natt"] == 0.0


@pytest.mark.parametrize("raw", ["Misshandel, grov", " misshandel,grov", "MISSHANDEL ,  GROV"])
def test_matching_ignores_case_and_spacing(raw):
    assert DEFAULT_SEVERITY[raw] == DEFAULT_SEVERITY["Misshandel, grov"] == 4.0


def test_nfd_matches_nfc():
    import unicodedata

    assert DEFAULT_SEVERITY[unicodedata.normalize("NFD", "Rån")] == 4.0
    assert normalize_category(None) == ""


def test_unknown_gets_documented_default():
    assert DEFAULT_SEVERITY["cykel på fel sida"] == DEFAULT_UNKNOWN_SEVERITY == 1.0
    assert DEFAULT_SEVERITY.lookup([None, float("nan")]).tolist() == [1.0, 1.0]


def test_every_real_polisen_type_is_in_the_table():
    types = {e["type"] for e in json.loads(next(POLISEN.glob("api_snapshot_*.json")).read_text())}
    with gzip.open(POLISEN / "events_extract.jsonl.gz", "rt") as f:
        types |= {json.loads(line)["type"] for line in f}
    assert len(types) == 97  # every type of the full archive (the extract's SOURCE.md)
    assert sorted(t for t in types if t not in DEFAULT_SEVERITY) == []


def test_load_severity_none_and_default():
    assert load_severity(None) is DEFAULT_SEVERITY
    none = load_severity("NONE")
    assert none["misshandel"] == 1.0 and none["whatever"] == 1.0


def test_load_severity_file_overlays(tmp_path):
    f = tmp_path / "sev.csv"
    f.write_text("category,severity\nMisshandel,10\n  klotter ,0.5\n*,7\n", encoding="utf-8")
    t = load_severity(f)
    assert t["misshandel"] == 10.0
    assert t["Klotter"] == 0.5
    assert t["stöld"] == 2.0  # from the default table
    assert t["något okänt"] == 7.0


def test_load_severity_semicolon_and_decimal_comma(tmp_path):
    f = tmp_path / "sev.csv"
    f.write_text("\ufeffcategory;severity\nRån;2,5\n", encoding="utf-8")
    assert load_severity(f)["rån"] == 2.5


def test_load_severity_bad_rows_are_all_named(tmp_path):
    f = tmp_path / "sev.csv"
    f.write_text("category,severity\nRån,abc\n,3\nStöld,-1\nrån ,2\nRÅN,3\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_severity(f)
    msg = str(ei.value)
    assert str(f) in msg
    assert "row 1 (line 2): severity 'abc' is not a number" in msg
    assert "row 2 (line 3): empty category" in msg
    assert "row 3 (line 4)" in msg and "≥ 0" in msg
    assert "row 5 (line 6)" in msg and "already given" in msg
    assert len(ei.value.problems) == 4


def test_load_severity_missing_file_and_column(tmp_path):
    with pytest.raises(InputError, match="no such severity file"):
        load_severity(tmp_path / "nope.csv")
    f = tmp_path / "bad.csv"
    f.write_text("kategori,severity\nRån,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column category"):
        load_severity(f)


def test_incident_weights_formula():
    df = pd.DataFrame(
        {
            "category": ["Misshandel", "Stöld", "Fylleri", "okänd"],
            "weight": [1.0, 2.0, np.nan, 0.5],
            # local dates: 2024-03-01, 2024-03-11, 2024-03-21, 2024-03-31
            "time": pd.to_datetime(
                ["2024-03-01T10:00Z", "2024-03-11T10:00Z", "2024-03-21T10:00Z",
                 "2024-03-31T10:00Z"]
            ),
        },
        index=[10, 20, 30, 40],
    )
    w = incident_weights(df)
    assert list(w.index) == [10, 20, 30, 40]
    assert w.tolist() == [3.0, 4.0, 1.0, 0.5]
    d = incident_weights(df, half_life_days=10)  # ages 30, 20, 10, 0 days
    assert np.allclose(d.to_numpy(), [3 / 8, 4 / 4, 1 / 2, 0.5])
    d2 = incident_weights(df, half_life_days=10, as_of="2024-04-10", severity="none")
    assert np.allclose(d2.to_numpy(), [1 / 16, 2 / 8, 1 / 4, 0.5 / 2])


def test_age_uses_local_calendar_date():
    # 2024-06-30T22:30Z is 2024-07-01 00:30 in Stockholm (CEST): same local day as as_of
    t = pd.Series(pd.to_datetime(["2024-06-30T22:30Z", "2024-06-30T21:30Z"]))
    f = recency_factor(t, half_life_days=1, as_of="2024-07-01")
    assert f.tolist() == [1.0, 0.5]


def test_future_incidents_not_upweighted_and_bad_as_of():
    t = pd.Series(pd.to_datetime(["2024-01-10T12:00Z"]))
    assert recency_factor(t, half_life_days=5, as_of="2024-01-01").tolist() == [1.0]
    with pytest.raises(InputError, match="--as-of"):
        recency_factor(t, half_life_days=5, as_of="last tuesday")


def test_every_demo_category_is_in_the_table_not_the_unknown_default():
    import json
    from pathlib import Path

    from geo.weights import DEFAULT_SEVERITY, normalize_category

    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "incidents.geojson"
    cats = {f["properties"]["category"] for f in json.loads(demo.read_text())["features"]}
    table = DEFAULT_SEVERITY.table
    missing = [c for c in cats if normalize_category(c) not in table]  # not the default 1
    assert missing == []
    assert DEFAULT_SEVERITY.lookup(["Ficktjuveri"]).tolist() == DEFAULT_SEVERITY.lookup(
        ["Fickstöld"]).tolist() == [2.0]


@pytest.mark.parametrize("as_of", ["3239-03-28", "1066-10-14"])
def test_as_of_far_from_now_is_a_clear_input_error(as_of):
    from geo.errors import InputError
    from geo.weights import recency_factor

    t = pd.Series(pd.to_datetime(["2024-01-01T12:00Z"], utc=True))
    with pytest.raises(InputError, match="outside the years 1900-2199"):
        recency_factor(t, half_life_days=10, as_of=as_of)
