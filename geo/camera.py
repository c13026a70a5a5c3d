"""Camera optics: pixel density, DORI levels and the ground distances they reach.

The model is the contract's. A camera at ``height_m`` above the ground looks at a
target 1.6 m above the ground (a standing person's face). At slant distance ``d``
(metres, lens to target) a camera with horizontal field of view ``θ`` and ``R``
horizontal pixels resolves

* ``ppm(d) = R / (2 · d · tan(θ/2))`` pixels per metre for a rectilinear lens
  (``θ < 180°``),
* ``ppm(d) = R / (θ_rad · d)`` for a fisheye / panoramic lens (``θ ≥ 180°``).

A DORI level (IEC 62676-4) is reached where ``ppm(d)`` is at least its threshold:
identify 250, recognize 125, observe 62.5, detect 25 px/m (configurable through
:class:`DoriThresholds`, a 2025 revision of the standard exists). Inverting ``ppm``
gives the greatest slant distance ``D`` of a level; the ground (horizontal)
distance is ``sqrt(D² − (height_m − 1.6)²)``, or 0 when even the point straight
below the camera is too far (``D < |height_m − 1.6|``). ``range_m`` caps every
level; level ``visible`` is everything in line of sight within ``range_m``, or,
without ``range_m``, within the detect distance.

An optional tilt (``tilt_deg``, depression of the optical axis below the horizon)
with a vertical field of view (``vfov_deg``) adds a near-field blind zone: ground
closer than ``(height_m − 1.6) / tan(tilt + vfov/2)`` is below the image. Without
both the camera has no blind zone, exactly as the contract says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geo.errors import AnalysisError

if TYPE_CHECKING:  # light at import: the quick path of ``coverage`` needs no pandas
    import pandas as pd

__all__ = [
    "TARGET_HEIGHT_M",
    "LEVELS",
    "DORI_LEVELS",
    "DoriThresholds",
    "ppm",
    "slant_distance_m",
    "max_slant_distance_m",
    "ground_distance_m",
    "blind_radius_m",
    "camera_radii",
    "level_radii",
]

#: Height of the target above the ground (metres): a face.
TARGET_HEIGHT_M: Final = 1.6
#: The pixel-density levels, finest first.
DORI_LEVELS: Final = ("identify", "recognize", "observe", "detect")
#: Every coverage level, finest first; ``visible`` is line of sight within range.
LEVELS: Final = ("identify", "recognize", "observe", "detect", "visible")


@dataclass(frozen=True, slots=True)
class DoriThresholds:
    """Pixel densities (px/m) a level needs; defaults are IEC 62676-4.

    Examples
    --------
    >>> DoriThresholds().for_level("observe")
    62.5
    >>> DoriThresholds(detect=20.0).detect
    20.0

    Each level is finer than the next, so the thresholds must be finite, positive and
    strictly decreasing (otherwise a coarser level would reach less far):

    >>> DoriThresholds(25, 62.5, 125, 250)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.AnalysisError: DORI thresholds must be ... strictly decreasing ...
    """

    identify: float = 250.0
    recognize: float = 125.0
    observe: float = 62.5
    detect: float = 25.0

    def __post_init__(self) -> None:
        vals = [float(getattr(self, lv)) for lv in DORI_LEVELS]
        ok = all(np.isfinite(v) and v > 0 for v in vals) and all(
            a > b for a, b in zip(vals[:-1], vals[1:], strict=True))
        if not ok:
            raise AnalysisError(
                "DORI thresholds must be finite, positive and strictly decreasing "
                "(identify > recognize > observe > detect), got "
                f"{', '.join(f'{v:g}' for v in vals)} px/m")

    def for_level(self, level: str) -> float:
        """The threshold (px/m) of one DORI level."""
        if level not in DORI_LEVELS:
            raise AnalysisError(f"unknown DORI level {level!r}; expected one of {DORI_LEVELS}")
        return float(getattr(self, level))


def ppm(distance_m: ArrayLike, fov_deg: ArrayLike, resolution_px: ArrayLike) -> NDArray:
    """Pixel density (px/m) at a slant distance.

    Parameters
    ----------
    distance_m : array_like
        Slant distance from the lens to the target (metres, > 0).
    fov_deg : array_like
        Horizontal field of view (degrees, 0 < fov ≤ 360).
    resolution_px : array_like
        Horizontal resolution (pixels).

    Returns
    -------
    ndarray
        Pixels per metre; rectilinear below 180°, ``R / (θ_rad · d)`` from 180° on.

    Examples
    --------
    >>> round(float(ppm(10.0, 90.0, 1920)), 6)  # 1920 / (2 · 10 · tan 45°)
    96.0
    >>> round(float(ppm(10.0, 360.0, 1920)), 3)  # 1920 / (2π · 10)
    30.558
    """
    d = np.asarray(distance_m, dtype=float)
    fov = np.asarray(fov_deg, dtype=float)
    res = np.asarray(resolution_px, dtype=float)
    theta = np.radians(fov)
    with np.errstate(divide="ignore", invalid="ignore"):
        rect = res / (2.0 * d * np.tan(np.minimum(theta, np.radians(179.999)) / 2.0))
        pano = res / (theta * d)
    return np.where(fov < 180.0, rect, pano)


def slant_distance_m(ground_m: ArrayLike, height_m: ArrayLike) -> NDArray:
    """Slant distance from a lens at ``height_m`` to a target 1.6 m up, ``ground_m`` away.

    Examples
    --------
    >>> float(slant_distance_m(4.0, 4.6))   # 3-4-5 triangle
    5.0
    """
    g = np.asarray(ground_m, dtype=float)
    dz = np.asarray(height_m, dtype=float) - TARGET_HEIGHT_M
    return np.hypot(g, dz)


def max_slant_distance_m(
    threshold_ppm: ArrayLike, fov_deg: ArrayLike, resolution_px: ArrayLike
) -> NDArray:
    """The greatest slant distance (m) at which ``ppm`` still reaches a threshold.

    The inverse of :func:`ppm` in ``d``.

    Examples
    --------
    >>> round(float(max_slant_distance_m(62.5, 90.0, 1920)), 6)  # 1920 / (2 · 62.5 · 1)
    15.36
    """
    t = np.asarray(threshold_ppm, dtype=float)
    fov = np.asarray(fov_deg, dtype=float)
    res = np.asarray(resolution_px, dtype=float)
    theta = np.radians(fov)
    rect = res / (2.0 * t * np.tan(np.minimum(theta, np.radians(179.999)) / 2.0))
    pano = res / (theta * t)
    return np.where(fov < 180.0, rect, pano)


def ground_distance_m(
    threshold_ppm: ArrayLike,
    *,
    height_m: ArrayLike,
    fov_deg: ArrayLike,
    resolution_px: ArrayLike,
) -> NDArray:
    """Ground distance (m) within which a pixel density is reached.

    ``sqrt(D² − (height_m − 1.6)²)`` with ``D`` from :func:`max_slant_distance_m`;
    0 when unreachable (even straight below the camera the density is too low).

    Examples
    --------
    >>> round(float(ground_distance_m(62.5, height_m=1.6, fov_deg=90.0, resolution_px=1920)), 6)
    15.36
    >>> float(ground_distance_m(250.0, height_m=10.0, fov_deg=90.0, resolution_px=1920))
    0.0
    """
    d_max = max_slant_distance_m(threshold_ppm, fov_deg, resolution_px)
    dz = np.asarray(height_m, dtype=float) - TARGET_HEIGHT_M
    sq = d_max**2 - dz**2
    return np.where(sq > 0.0, np.sqrt(np.maximum(sq, 0.0)), 0.0)


def blind_radius_m(
    *, height_m: ArrayLike, tilt_deg: ArrayLike, vfov_deg: ArrayLike
) -> NDArray:
    """Radius (m) of the near-field blind zone below a tilted camera.

    The lower edge of the image looks down at ``tilt_deg + vfov_deg / 2`` below the
    horizon; a target 1.6 m up closer than ``(height_m − 1.6) / tan(that)`` is not in
    the image. NaN tilt or vertical field of view (not given) means no blind zone (0).

    Examples
    --------
    >>> round(float(blind_radius_m(height_m=6.0, tilt_deg=20.0, vfov_deg=50.0)), 3)  # 4.4 / tan 45°
    4.4
    >>> float(blind_radius_m(height_m=6.0, tilt_deg=np.nan, vfov_deg=50.0))
    0.0
    """
    h = np.asarray(height_m, dtype=float) - TARGET_HEIGHT_M
    low = np.radians(np.asarray(tilt_deg, dtype=float) + np.asarray(vfov_deg, dtype=float) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(low < np.pi / 2, h / np.tan(low), 0.0)
    r = np.where(np.isfinite(r) & (h > 0), np.maximum(r, 0.0), 0.0)
    return r


def camera_radii(
    cameras: pd.DataFrame,
    *,
    thresholds: DoriThresholds | None = None,
    levels: tuple[str, ...] = LEVELS,
) -> pd.DataFrame:
    """Ground radius (m) of every level for every camera (frame adapter).

    Uses the camera columns of :mod:`geo.layers` (``height_m``, ``fov_deg``,
    ``resolution_px``, ``range_m``; defaults filled when missing). ``range_m`` caps
    every level; ``visible`` is ``range_m`` or, without it, the detect radius.

    Returns
    -------
    DataFrame
        Index-aligned with ``cameras``, one float column per level.

    Examples
    --------
    >>> import pandas as pd
    >>> cams = pd.DataFrame({"height_m": [1.6], "fov_deg": [90.0],
    ...                      "resolution_px": [1920], "range_m": [np.nan]})
    >>> camera_radii(cams).round(2).iloc[0].tolist()
    [3.84, 7.68, 15.36, 38.4, 38.4]
    """
    import pandas as pd

    n = len(cameras)
    radii = level_radii(
        height_m=_column(cameras, "height_m", 4.0, n),
        resolution_px=_column(cameras, "resolution_px", 1920.0, n),
        azimuth_deg=_column(cameras, "azimuth_deg", np.nan, n),
        fov_deg=_column(cameras, "fov_deg", np.nan, n),
        range_m=_column(cameras, "range_m", np.nan, n),
        thresholds=thresholds, levels=levels)
    return pd.DataFrame(radii, index=cameras.index)


def level_radii(
    *,
    height_m: NDArray,
    resolution_px: NDArray,
    azimuth_deg: NDArray,
    fov_deg: NDArray,
    range_m: NDArray,
    thresholds: DoriThresholds | None = None,
    levels: tuple[str, ...] = LEVELS,
) -> dict[str, NDArray]:
    """Ground radius (m) of each level, from the camera columns as arrays.

    ``fov_deg`` NaN means the default (90° with an azimuth, 360° without); ``range_m``
    NaN means no range (``visible`` is then the detect radius).

    Examples
    --------
    >>> r = level_radii(height_m=np.array([1.6]), resolution_px=np.array([1920.0]),
    ...                 azimuth_deg=np.array([0.0]), fov_deg=np.array([90.0]),
    ...                 range_m=np.array([20.0]), levels=("observe", "detect"))
    >>> {k: v.round(2).tolist() for k, v in r.items()}
    {'observe': [15.36], 'detect': [20.0]}
    """
    th = thresholds or DoriThresholds()
    h, res, az, rng = height_m, resolution_px, azimuth_deg, range_m
    fov = np.where(np.isnan(fov_deg), np.where(np.isnan(az), 360.0, 90.0), fov_deg)
    cap = np.where(np.isnan(rng), np.inf, rng)
    out = {}
    detect = ground_distance_m(th.detect, height_m=h, fov_deg=fov, resolution_px=res)
    for level in levels:
        if level == "visible":
            out[level] = np.where(np.isnan(rng), detect, rng)
        else:
            g = ground_distance_m(th.for_level(level), height_m=h, fov_deg=fov, resolution_px=res)
            out[level] = np.minimum(g, cap)
    return out


def _column(frame: pd.DataFrame, name: str, default: float, n: int) -> NDArray:
    import pandas as pd

    if name not in frame.columns:
        return np.full(n, default, dtype=float)
    col = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if not np.isnan(default):
        col = np.where(np.isnan(col), default, col)
    return col
