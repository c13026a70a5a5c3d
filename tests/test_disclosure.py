"""The disclosure-control module (geo/disclosure.py): table, keys, grid, properties.

Expected values come from hand arithmetic on the perturbation table, from hashlib/hmac
directly, from shapely, and from ONS's own implementation (``cell-key-perturbation``)
run on the same record keys and the same table.
"""

from __future__ import annotations

import hashlib
import hmac

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from geo import disclosure as sdc
from geo.errors import AnalysisError

SECRET = b"test-secret-0123456789"


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize("n", range(0, 40))
def test_table_rows_are_valid_and_unbiased(n: int) -> None:
    row = sdc.ptable_row(n)
    assert sum(row.values()) == 256
    assert all(c > 0 for c in row.values())
    if n in (1, 2):  # small counts are suppressed: always published as 0
        assert row == {0: 256}
        return
    # unbiased from 3 up: the mean published value is the true count (exact in 256ths)
    assert sum(v * c for v, c in row.items()) == 256 * n
    assert 1 not in row and 2 not in row
    assert all(abs(v - n) <= sdc.MAX_PERTURBATION for v in row)
    assert (0 in row) == (n <= 3)
    if n == 0:
        assert row == {0: 256}


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 6, 7, 25, 751, 10_000])
def test_every_key_bin_gives_the_table_row(n: int) -> None:
    """Walking the 256 key bins of a count publishes each value as often as its row says."""
    bins = (np.arange(256) + 0.5) / 256
    published = sdc.perturb(np.full(256, n), bins)
    values, counts = np.unique(published, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == sdc.ptable_row(n)


def test_possible_true_values_inverts_the_table() -> None:
    assert sdc.possible_true_values(0) == [0, 1, 2, 3]
    assert sdc.possible_true_values(3) == [3, 4, 5, 6]
    assert sdc.possible_true_values(4) == [3, 4, 5, 6, 7]
    assert sdc.possible_true_values(20) == list(range(17, 24))
    assert sdc.possible_true_values(1) == [] and sdc.possible_true_values(2) == []


def test_same_as_ons_cell_key_perturbation() -> None:
    """ONS's implementation, given our record keys (0-255) and our table, agrees cell by cell."""
    ons = pytest.importorskip("cell_key_perturbation.create_perturbed_table")
    rng = np.random.default_rng(7)
    n = 3000
    data = pd.DataFrame({
        "area": rng.choice(["a", "b", "c", "d"], n, p=[0.6, 0.3, 0.08, 0.02]),
        "category": rng.choice(["rån", "stöld", "skadegörelse", "hot"], n,
                               p=[0.05, 0.6, 0.3, 0.05]),
        "hour": rng.integers(0, 24, n),
    })
    keys = sdc.record_keys(range(n), secret=SECRET)
    data["record_key"] = np.rint(keys * 256).astype(int)
    theirs = ons.create_perturbed_table(data=data, ptable=sdc.ptable_frame(), geog=["area"],
                                        tab_vars=["category", "hour"],
                                        record_key="record_key", threshold=0)
    theirs = theirs.set_index(["area", "category", "hour"])
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(data[["area", "category", "hour"]]))
    ours = sdc.protected_counts(keys, codes, n_cells=len(uniques))
    ours_by = pd.Series(ours, index=uniques)
    shared = theirs.index.intersection(ours_by.index)
    assert len(shared) == len(uniques)
    assert (theirs.loc[shared, "count"].astype(int).to_numpy()
            == ours_by.loc[shared].to_numpy()).all()
    # and the true counts agree too (the table was built from the same records)
    assert (theirs.loc[shared, "pre_sdc_count"].to_numpy()
            == np.bincount(codes)[uniques.get_indexer(shared)]).all()


# --------------------------------------------------------------------------- keys


def test_record_keys_are_the_first_hmac_byte() -> None:
    ids = ["id:1", "id:2", "tcp:x"]
    want = [hmac.new(SECRET, i.encode(), hashlib.sha256).digest()[0] / 256 for i in ids]
    assert sdc.record_keys(ids, secret=SECRET).tolist() == want


def test_record_keys_depend_on_the_secret() -> None:
    a = sdc.record_keys(range(200), secret=SECRET)
    b = sdc.record_keys(range(200), secret=SECRET + b"!")
    assert (a != b).mean() > 0.9  # 1/256 chance per key of a coincidence


def test_short_or_missing_secret_is_refused() -> None:
    with pytest.raises(AnalysisError, match="at least 16 bytes"):
        sdc.record_keys(["a"], secret=b"short")
    with pytest.raises(AnalysisError, match="must be bytes"):
        sdc.record_keys(["a"], secret="text-not-bytes-123")  # type: ignore[arg-type]


def test_incident_ids_use_id_or_time_category_position() -> None:
    g = gpd.GeoDataFrame(
        {"id": ["A1", "", None], "category": ["Rån", "Stöld", "Stöld"],
         "time": pd.to_datetime(["2025-01-01T10:00Z", "2025-02-01T10:00Z",
                                 "2025-02-01T10:00Z"], utc=True)},
        geometry=shapely.points([[674000, 6580000], [674001, 6580002], [674001, 6580003]]),
        crs=3006)
    ids = sdc.incident_ids(g).tolist()
    assert ids[0] == "id:A1"
    assert ids[1] == "tcp:2025-02-01T10:00:00+00:00|Stöld|674001.0|6580002.0"
    assert ids[1] != ids[2]
    # the same incident in another layer (other row order, extra rows) keeps its key
    k1 = sdc.incident_record_keys(g, secret=SECRET)
    k2 = sdc.incident_record_keys(g.iloc[::-1], secret=SECRET)
    assert k1.to_dict() == k2.to_dict()


def test_cell_key_is_the_sum_mod_1() -> None:
    keys = np.array([200, 100, 3, 255, 1]) / 256
    got = sdc.cell_keys(keys, [0, 0, 1, 1, -1], n_cells=3)
    assert got.tolist() == [44 / 256, 2 / 256, 0.0]


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(AnalysisError, match="negative"):
        sdc.perturb([-1], [0.5])
    with pytest.raises(AnalysisError, match=r"\[0, 1\)"):
        sdc.perturb([1], [1.0])
    with pytest.raises(AnalysisError, match="whole counts"):
        sdc.perturb([1.5], [0.5])
    with pytest.raises(AnalysisError, match="outside"):
        sdc.protected_counts([0.5], [3], n_cells=2)
    with pytest.raises(AnalysisError, match="unknown language"):
        sdc.cell_note(lang="de")


# --------------------------------------------------------------------------- properties

keys_st = st.lists(st.integers(0, 255).map(lambda k: k / 256), min_size=0, max_size=60)


@given(keys=keys_st, seed=st.integers(0, 2**32 - 1))
def test_same_records_same_value_whatever_the_table(keys: list[float], seed: int) -> None:
    """A set of records publishes one value: alone, shuffled, or among other cells."""
    alone = sdc.protected_total(keys)
    rng = np.random.default_rng(seed)
    other = rng.integers(0, 256, rng.integers(0, 40)) / 256
    allk = np.concatenate([np.asarray(keys, float), other])
    groups = np.concatenate([np.zeros(len(keys), int),
                             rng.integers(1, 4, len(other))])
    perm = rng.permutation(len(allk))
    in_table = sdc.protected_counts(allk[perm], groups[perm], n_cells=4)[0]
    assert alone == in_table


@given(keys=keys_st)
def test_never_1_or_2_and_within_the_bound(keys: list[float]) -> None:
    v = sdc.protected_total(keys)
    assert v not in (1, 2)
    assert abs(v - len(keys)) <= sdc.MAX_PERTURBATION
    assert (v == 0) <= (len(keys) <= sdc.MAX_PERTURBATION)
    assert (len(keys) == 0) <= (v == 0)


@given(n=st.integers(0, 5000), b=st.integers(0, 255))
def test_perturb_properties(n: int, b: int) -> None:
    v = int(sdc.perturb(np.array([n]), np.array([b / 256]))[0])
    assert v not in (1, 2) and v >= 0
    assert abs(v - n) <= sdc.MAX_PERTURBATION
    assert n in sdc.possible_true_values(v)


def test_table_margins_are_cells_of_their_own() -> None:
    rng = np.random.default_rng(3)
    n = 400
    keys = sdc.record_keys(range(n), secret=SECRET)
    rows, cols = rng.integers(0, 7, n), rng.integers(0, 24, n)
    t = sdc.protect_table(keys, rows, cols, shape=(7, 24))
    for i in range(7):
        assert t.row_totals[i] == sdc.protected_total(keys[rows == i])
        assert t.cells[i, 5] == sdc.protected_total(keys[(rows == i) & (cols == 5)])
    for j in range(24):
        assert t.col_totals[j] == sdc.protected_total(keys[cols == j])
    assert t.total == sdc.protected_total(keys)
    true = np.zeros((7, 24), int)
    np.add.at(true, (rows, cols), 1)
    assert (np.abs(t.cells - true) <= 3).all()
    assert not np.isin(t.cells, [1, 2]).any()


def test_derived_figures() -> None:
    assert sdc.share(3, 12) == 0.25
    assert sdc.share(7, 5) == 1.0
    assert sdc.share(0, 0) is None
    assert sdc.rate(10, 0.25) == 40.0
    assert sdc.rate(3, 0) is None
    assert sdc.weighted_sum({"a": 3, "b": 0, "c": 5}, {"a": 2.0, "c": 0.5}) == 8.5


# --------------------------------------------------------------------------- grid


def test_grid_index_and_centres() -> None:
    xy = [[674_000.0, 6_580_000.0], [674_099.999, 6_580_199.0], [-0.5, 50.0]]
    assert sdc.grid_index(xy).tolist() == [[6740, 65800], [6740, 65801], [-1, 0]]
    assert sdc.grid_centres(xy)[1].tolist() == [674_050.0, 6_580_150.0]
    with pytest.raises(AnalysisError, match="at least 100 m"):
        sdc.grid_index(xy, cell_m=50)


def test_area_holds_the_cells_whose_centre_it_covers() -> None:
    # a 120 m box from (674 000, 6 580 000): covers the centres of 1 cell (674 050, ...)
    box = shapely.box(674_000, 6_580_000, 674_120, 6_580_120)
    pts = np.array([[674_033.0, 6_580_033.0],   # cell centre 674 050, 6 580 050: in
                    [674_110.0, 6_580_010.0],   # centre 674 150: out
                    [674_001.0, 6_580_099.0]])  # same cell as the first: in
    assert sdc.in_area(pts, box).tolist() == [True, False, True]
    # a 6 x 6 m hole around the first incident changes nothing
    holed = box.difference(shapely.box(674_030, 6_580_030, 674_036, 6_580_036))
    assert sdc.in_area(pts, holed).tolist() == [True, False, True]
    # a centre on the edge counts
    edge = shapely.box(674_050, 6_580_000, 674_100, 6_580_100)
    assert sdc.in_area(pts[:1], edge).tolist() == [True]
    # the vectorized form agrees with a plain shapely test per pair
    pi, ai = sdc.grid_points_in_polygons(pts, [box, holed, edge])
    want = [(p, a) for a, poly in enumerate([box, holed, edge]) for p in range(3)
            if poly.intersects(shapely.Point(*sdc.grid_centres(pts)[p]))]
    assert list(zip(pi.tolist(), ai.tolist(), strict=True)) == want


def test_wording_is_one_per_language() -> None:
    for lang in ("sv", "en"):
        text = sdc.method_statement(lang=lang)
        assert str(sdc.MAX_PERTURBATION) in text and "100" in text and "500" in text
        assert "ONS" in text
    assert "Ej för publicering" in sdc.appendix_heading(lang="sv")
    assert "Ej för publicering" in sdc.appendix_heading(lang="en")
    assert sdc.not_published(lang="sv") == "ej publicerat"


# --------------------------------------------------------------------------- the secret


def test_secret_from_the_environment_or_a_key_file(tmp_path, monkeypatch) -> None:
    import os
    import stat

    from api.settings import SDC_KEY_FILE, get_settings, sdc_secret
    from geo.errors import InputError

    monkeypatch.delenv("TRYGGKARTA_SDC_SECRET", raising=False)
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "var"))
    first = sdc_secret(get_settings())
    key_file = tmp_path / "var" / SDC_KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(first) == 64 and sdc_secret(get_settings()) == first  # made once, then kept
    monkeypatch.setenv("TRYGGKARTA_SDC_SECRET", "a-long-enough-secret")
    assert sdc_secret(get_settings()) == b"a-long-enough-secret"
    monkeypatch.setenv("TRYGGKARTA_SDC_SECRET", "short")
    with pytest.raises(InputError) as err:
        sdc_secret(get_settings())
    assert "TRYGGKARTA_SDC_SECRET" in str(err.value) and "short" not in str(err.value)
    monkeypatch.delenv("TRYGGKARTA_SDC_SECRET")
    key_file.write_text("tiny\n")
    with pytest.raises(InputError, match=SDC_KEY_FILE):
        sdc_secret(get_settings())
