"""Drawing geometries as SVG path data for the printed documents' inline maps.

Private helpers shared by the area report (:mod:`geo.report`) and the lägesbild
(:mod:`geo.lagesbild_doc`): a frame mapping EPSG:3006 metres to SVG pixels (y down), and
the path data of polygons and lines in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

__all__ = ["SvgFrame", "ring_d", "path_d"]


@dataclass(frozen=True)
class SvgFrame:
    """The map extent (EPSG:3006 metres) drawn ``width_px`` wide, north up.

    Examples
    --------
    >>> f = SvgFrame(0, 0, 100, 50, 200)
    >>> f.height_px, f.xy(np.array([[0.0, 50.0], [100.0, 0.0]])).tolist()
    (100.0, [[0.0, 0.0], [200.0, 100.0]])
    """

    minx: float
    miny: float
    maxx: float
    maxy: float
    width_px: float

    @property
    def scale(self) -> float:
        """Pixels per metre."""
        return self.width_px / (self.maxx - self.minx)

    @property
    def height_px(self) -> float:
        return (self.maxy - self.miny) * self.scale

    def xy(self, coords: np.ndarray) -> np.ndarray:
        """An (n, 2) array of metres as pixels."""
        out = np.empty_like(coords, dtype=float)
        out[:, 0] = (coords[:, 0] - self.minx) * self.scale
        out[:, 1] = (self.maxy - coords[:, 1]) * self.scale
        return out

    def px(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metres as pixels, coordinate by coordinate."""
        return (np.asarray(x) - self.minx) * self.scale, (self.maxy - np.asarray(y)) * self.scale


def ring_d(coords: np.ndarray, frame: SvgFrame, close: bool = True) -> str:
    """SVG path data of one ring (``close``) or line string."""
    pts = frame.xy(np.asarray(coords)[:, :2])
    body = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    return f"M{body}{'Z' if close else ''}"


def path_d(geom: shapely.Geometry, frame: SvgFrame) -> str:
    """SVG path data of a (multi)polygon, (multi)line string or collection.

    Examples
    --------
    >>> path_d(shapely.box(0, 0, 10, 10), SvgFrame(0, 0, 10, 10, 10))
    'M10.0,10.0 10.0,0.0 0.0,0.0 0.0,10.0 10.0,10.0Z'
    """
    parts: list[str] = []
    for g in getattr(geom, "geoms", [geom]):
        if g.is_empty:
            continue
        if g.geom_type == "Polygon":
            parts.append(ring_d(np.asarray(g.exterior.coords), frame, True))
            parts += [ring_d(np.asarray(r.coords), frame, True) for r in g.interiors]
        elif g.geom_type == "LineString":
            parts.append(ring_d(np.asarray(g.coords), frame, False))
        elif g.geom_type in ("MultiPolygon", "MultiLineString", "GeometryCollection"):
            parts.append(path_d(g, frame))
    return " ".join(p for p in parts if p)
