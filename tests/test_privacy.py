"""Public aggregation: fixed grid, at least 100 m, counts under 3 suppressed."""

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Point

from geo.errors import AnalysisError
from geo.privacy import public_cells


def pts(coords):
    return gpd.GeoDataFrame(geometry=[Point(x, y) for x, y in coords], crs=3006)


def test_hand_counted_cells():
    # cell [674000, 674100) x [6580000, 6580100): 4 points; next cell east: 2 (suppressed);
    # a point exactly on the edge 674100 belongs to the eastern cell.
    g = pts([(674001, 6580001)] * 2 + [(674099.9, 6580099.9), (674050, 6580050),
            (674100, 6580050), (674150, 6580050)])
    c = public_cells(g)
    assert c[["cell_x", "cell_y", "count"]].values.tolist() == [[674000.0, 6580000.0, 4]]
    assert c.attrs["suppressed_cells"] == 1 and c.attrs["suppressed_incidents"] == 2
    assert c.geometry.iloc[0].area == pytest.approx(100 * 100)


def test_by_category_suppresses_per_group():
    g = pts([(674010, 6580010)] * 5)
    g["category"] = ["rån", "rån", "rån", "stöld", "stöld"]
    c = public_cells(g, by="category")
    assert c[["category", "count"]].values.tolist() == [["rån", 3]]


def test_refuses_unsafe_settings():
    g = pts([(674010, 6580010)] * 5)
    with pytest.raises(AnalysisError, match="at least 100 m"):
        public_cells(g, cell_m=50)
    with pytest.raises(AnalysisError, match="suppressed"):
        public_cells(g, min_count=2)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(670_000, 671_000), st.floats(6_580_000, 6_581_000)),
                min_size=1, max_size=200),
       st.sampled_from([100.0, 250.0]))
def test_counts_add_up_and_no_small_cell_shown(coords, cell):
    c = public_cells(pts(coords), cell_m=cell)
    assert (c["count"] >= 3).all()
    assert c["count"].sum() + c.attrs["suppressed_incidents"] == len(coords)
    # every shown cell's count equals an independent count of points inside it
    xy = np.array(coords)
    for _, row in c.iterrows():
        inside = ((xy[:, 0] >= row.cell_x) & (xy[:, 0] < row.cell_x + cell)
                  & (xy[:, 1] >= row.cell_y) & (xy[:, 1] < row.cell_y + cell))
        assert inside.sum() == row["count"]
