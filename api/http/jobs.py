"""The jobs of the HTTP API: what runs in a worker process for a request.

Each job is ``job(ctx, *args)`` (:mod:`api.http.workers`): it loads the stored datasets
it needs (``ctx.load``, cached per version in the worker), calls :mod:`api.service`,
serialises the answer, and caches it per dataset versions and parameters. Arguments are
the parameter dataclasses the route built, so a bad value was refused before any job
started. Routes call them through :meth:`api.http.deps.Runtime.run_job`.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from api.http.cache import fingerprint
from api.http.deps import Context, Dataset
from api.http.responses import file_bytes, frame_bytes
from api.service import areas as areas_service
from api.service import cameras as camera_service
from api.service import density as density_service
from api.service import exports as exports_service
from api.service import lagesbild as lagesbild_service
from api.service.common import LEVELS, Filters, WeightOptions, filter_incidents, precision_counts
from geo.errors import CRSError, InputError, Problem

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.scoring import SiteCoverage

__all__ = ["API_MAX_CELLS", "API_MAX_TREND_CELLS", "API_MAX_CAMERAS", "coverage_of",
           "upload", "density", "coverage", "score_sites", "select_sites", "score_areas",
           "propose_areas", "emerging_hotspots", "when", "map_html", "area_report",
           "lagesbild"]

#: Largest density grid (cells) one API request may ask for; the CLI allows more.
API_MAX_CELLS: Final = 1_000_000
#: Largest emerging-hot-spot grid (cells; each has one Gi* per month).
API_MAX_TREND_CELLS: Final = 200_000
#: Most cameras + candidate sites one API request may use; the CLI allows more.
API_MAX_CAMERAS: Final = 2_000


# -- uploads ----------------------------------------------------------------------------


def _renamed(exc: Exception, tmp: str, shown: str) -> Exception:
    """The same error naming the uploaded file instead of the temporary path."""
    if isinstance(exc, InputError):
        problems = [Problem(p.source.replace(tmp, shown), p.index,
                            p.reason.replace(tmp, shown)) for p in exc.problems]
        summary = exc.summary.replace(tmp, shown) if exc.summary else None
        return type(exc)(problems, summary=summary)
    if isinstance(exc, CRSError):
        return CRSError(str(exc).replace(tmp, shown))
    return exc


def upload(rt: Context, path: str, kind: str, name: str, crs: str | None,
           skip_invalid: bool, shown: str, replace: bool) -> dict[str, Any]:
    """Unpack (capped), count (capped), read and validate an upload, then store it.

    Returns the new catalogue entry (``info``) and the skipped features' problems.
    """
    from api.service.data import check_replace, store_layer
    from api.service.limits import check_rows, unpack_gzip
    from geo.io import read_layer

    settings = rt.settings
    store = rt.ready_store()
    check_replace(store, name, kind, replace=replace)  # before reading anything
    file = Path(path)
    try:
        file = unpack_gzip(file, max_bytes=settings.max_unpacked_bytes, shown=shown)
        check_rows(file, max_rows=settings.max_rows, shown=shown)
        try:
            layer = read_layer(file, kind, crs=crs, skip_invalid=skip_invalid)  # type: ignore[arg-type]
        except (InputError, CRSError) as exc:
            raise _renamed(exc, str(file), shown) from None
        check_rows(file, max_rows=settings.max_rows, shown=shown,
                   n=len(layer.frame) + len({p.index for p in layer.skipped}))
        info = store_layer(store, name, kind, layer.frame, source=shown, replace=replace)
    finally:
        shutil.rmtree(Path(path).parent, ignore_errors=True)
    skipped = [{"source": p.source.replace(str(file), shown), "index": p.index,
                "reason": p.reason} for p in layer.skipped]
    return {"info": info, "skipped": skipped}


# -- analyses ---------------------------------------------------------------------------


def _optional(rt: Context, name: str | None, kind: str) -> Dataset | None:
    return rt.load(name, kind) if name else None


def _frame(ds: Dataset | None) -> gpd.GeoDataFrame | None:
    return ds.frame if ds is not None else None


def _versions(**datasets: tuple[str | None, Dataset | None]) -> dict[str, int]:
    return {name: ds.info.version for name, ds in datasets.values() if name and ds}


def coverage_of(rt: Context, cams: Dataset, bld: Dataset | None,
                levels: tuple[str, ...]) -> gpd.GeoDataFrame:
    """Coverage polygons of stored cameras, cached per dataset versions and levels."""
    key = ("coverage", fingerprint(cams.info), fingerprint(bld.info if bld else None), levels)
    return rt.cache.get_or_compute(key, lambda: camera_service.coverage(
        cams.frame, _frame(bld), levels=list(levels), source=f"db:{cams.info.name}",
        workers=1, max_cameras=API_MAX_CAMERAS))


def _incident_counts(sc: SiteCoverage) -> dict[str, int]:
    return {"used": int(len(sc.weights)), "left_out_imprecise": int(sc.left_out)}


def density(rt: Context, incidents: str, params: density_service.DensityParams,
             filters: Filters, fmt: str) -> tuple[bytes, dict[str, int], dict[str, int]]:
    from geo.density import write_density

    ds = rt.load(incidents, "incidents")
    source = f"db:{incidents}"

    def run() -> tuple[bytes, dict[str, int]]:
        frame = filter_incidents(ds.frame, filters, source=source)
        result = density_service.density(frame, params, source=source,
                                         max_cells=API_MAX_CELLS)
        data = file_bytes(lambda p: write_density(result, p), fmt)
        return data, {"used": result.used, "left_out_imprecise": result.left_out_imprecise,
                      "hot_cells": result.hot_cells}

    data, notes = rt.cache.get_or_compute(("density", fingerprint(ds.info), params, filters,
                                           fmt), run)
    return data, {incidents: ds.info.version}, notes


def coverage(rt: Context, cameras_name: str, buildings: str | None,
              levels: tuple[str, ...], fmt: str) -> tuple[bytes, dict[str, int]]:
    cams = rt.load(cameras_name, "cameras")
    bld = _optional(rt, buildings, "buildings")
    cov = coverage_of(rt, cams, bld, levels)
    data = rt.cache.get_or_compute(("coverage-bytes", fingerprint(cams.info),
                                    fingerprint(bld.info if bld else None), levels, fmt),
                                   lambda: frame_bytes(cov, fmt))
    return data, _versions(cameras=(cameras_name, cams), buildings=(buildings, bld))


def _site_coverage(rt: Context, names: dict[str, str | None], params: camera_service.SiteParams
                   ) -> tuple[SiteCoverage, Dataset, dict[str, int], tuple[Any, ...]]:
    """The site coverage of stored layers, cached per dataset versions and parameters."""
    loaded = {kind: _optional(rt, names.get(kind), kind)
              for kind in ("incidents", "sites", "buildings", "cameras", "sensitive")}
    inc, sts = loaded["incidents"], loaded["sites"]
    assert inc is not None and sts is not None
    key = ("site_coverage", *(fingerprint(d.info) if d else None for d in loaded.values()),
           params)

    def run() -> SiteCoverage:
        layers = camera_service.SiteLayers(
            inc.frame, sts.frame, buildings=_frame(loaded["buildings"]),
            cameras=_frame(loaded["cameras"]), sensitive=_frame(loaded["sensitive"]),
            sources={k: f"db:{n}" for k, n in names.items() if n})
        return camera_service.site_coverage(layers, params, workers=1, max_cameras=API_MAX_CAMERAS)

    used = _versions(**{k: (names.get(k), d) for k, d in loaded.items()})
    return rt.cache.get_or_compute(key, run), sts, used, key


def score_sites(rt: Context, names: dict[str, str | None], params: camera_service.SiteParams,
                 privacy_weight: float, fmt: str
                 ) -> tuple[bytes, dict[str, int], dict[str, int]]:
    sc, sts, used, key = _site_coverage(rt, names, params)
    data = rt.cache.get_or_compute(
        ("score-sites", key, float(privacy_weight), fmt),
        lambda: frame_bytes(camera_service.score_sites(sc, sts.frame,
                                                       privacy_weight=privacy_weight), fmt))
    return data, used, _incident_counts(sc)


def select_sites(rt: Context, names: dict[str, str | None], params: camera_service.SiteParams,
                  select: camera_service.SelectParams, fmt: str
                  ) -> tuple[bytes, dict[str, int], dict[str, int]]:
    sc, _, used, key = _site_coverage(rt, names, params)

    def finite(v: float) -> float | None:
        return float(v) if math.isfinite(v) else None

    def run() -> bytes:
        sel = camera_service.select_sites(sc, select, sites_source=f"db:{names['sites']}")
        if fmt == "csv":
            return frame_bytes(sel.table, "csv")
        counts = _incident_counts(sc)
        return json.dumps({
            "sites": json.loads(sel.table.to_json(orient="records")),
            "method": sel.method,
            "optimal": bool(sel.optimal),
            "objective": finite(sel.objective),
            "new_weight": finite(sel.new_weight),
            "existing_weight": finite(sel.existing_weight),
            "total_weight": finite(sel.total_weight),
            "privacy_penalty": finite(sel.privacy_penalty),
            "upper_bound": finite(sel.upper_bound),
            "gap": finite(sel.gap),
            "notes": list(sc.notes) + list(sel.notes),
            "incidents_used": counts["used"],
            "incidents_left_out": counts["left_out_imprecise"],
        }).encode()

    return (rt.cache.get_or_compute(("select-sites", key, select, fmt), run), used,
            _incident_counts(sc))


def score_areas(rt: Context, incidents: str, areas: str, params: areas_service.AreaParams,
                 fmt: str) -> tuple[bytes, dict[str, int]]:
    inc, ar = rt.load(incidents, "incidents"), rt.load(areas, "areas")
    key = ("score-areas", fingerprint(inc.info), fingerprint(ar.info), params, fmt)
    data = rt.cache.get_or_compute(key, lambda: frame_bytes(areas_service.score_areas(
        inc.frame, ar.frame, params, source=f"db:{incidents}", areas_source=f"db:{areas}"),
        fmt))
    return data, {incidents: inc.info.version, areas: ar.info.version}


def propose_areas(rt: Context, incidents: str, params: areas_service.ProposeParams,
                   fmt: str) -> tuple[bytes, dict[str, int], dict[str, int]]:
    inc = rt.load(incidents, "incidents")
    key = ("propose-areas", fingerprint(inc.info), params, fmt)
    data = rt.cache.get_or_compute(key, lambda: frame_bytes(areas_service.propose_areas(
        inc.frame, params, source=f"db:{incidents}", max_cells=API_MAX_CELLS), fmt))
    return data, {incidents: inc.info.version}, precision_counts(inc.frame)


def emerging_hotspots(rt: Context, incidents: str, params: density_service.EmergingParams,
              filters: Filters, fmt: str) -> tuple[bytes, dict[str, int], dict[str, int]]:
    ds = rt.load(incidents, "incidents")
    source = f"db:{incidents}"
    frame = filter_incidents(ds.frame, filters, source=source)

    def run() -> bytes:
        res = density_service.emerging_hotspots(frame, params, source=source,
                                                max_cells=API_MAX_TREND_CELLS)
        return frame_bytes(res.frame() if fmt == "csv" else res.layer(), fmt)

    data = rt.cache.get_or_compute(("emerging", fingerprint(ds.info), params, filters, fmt),
                                   run)
    return data, {incidents: ds.info.version}, precision_counts(frame)


def when(rt: Context, incidents: str, areas: str | None, area: str | None,
          weights: WeightOptions | None, filters: Filters) -> tuple[bytes, dict[str, int]]:
    ds = rt.load(incidents, "incidents")
    source = f"db:{incidents}"
    polys = _optional(rt, areas, "areas")
    table = density_service.when(filter_incidents(ds.frame, filters, source=source),
                                 areas=_frame(polys), area=area, areas_source=f"db:{areas}",
                                 weights=weights)
    return frame_bytes(table, "csv"), _versions(incidents=(incidents, ds),
                                                areas=(areas, polys))


def map_html(rt: Context, names: dict[str, str | None], coverage: bool, public: bool, title: str,
         tiles: bool, lang: str | None, emerging: bool = False) -> tuple[bytes, dict[str, int]]:

    loaded = {kind: rt.load(name, kind) for kind, name in names.items() if name}
    cov = None
    if coverage:
        cov = coverage_of(rt, loaded["cameras"], loaded.get("buildings"), LEVELS)
    extra: dict[str, Any] = {}
    if emerging and not public:      # a public map leaves the cells out anyway
        inc = loaded["incidents"]
        params = density_service.EmergingParams()
        extra["emerging"] = rt.cache.get_or_compute(
            ("map-emerging", fingerprint(inc.info), params),
            lambda: density_service.emerging_hotspots(
                inc.frame, params, source=f"db:{inc.info.name}",
                max_cells=API_MAX_TREND_CELLS).frame())
    from geo.maps import source_line

    sources = [source_line(kind, f"db:{d.info.name} v{d.info.version}", lang=lang)
               for kind, d in loaded.items()]
    from api.settings import sdc_secret

    text = exports_service.map_html({**{k: d.frame for k, d in loaded.items()}, **extra},
                                    coverage=cov,
                            public=public, title=title, sources=sources, tiles=tiles,
                            lang=lang, secret=sdc_secret(rt.settings) if public else None)
    return text.encode("utf-8"), {d.info.name: d.info.version for d in loaded.values()}


def area_report(rt: Context, incidents: str, areas: str, area: str, buildings: str | None,
                 params: areas_service.ReportParams,
                 lang: str | None = None) -> tuple[bytes, dict[str, int]]:
    inc, ar = rt.load(incidents, "incidents"), rt.load(areas, "areas")
    bld = _optional(rt, buildings, "buildings")
    sources = {"incidents": f"db:{incidents} v{inc.info.version}",
               "areas": f"db:{areas} v{ar.info.version}"}
    used = {incidents: inc.info.version, areas: ar.info.version}
    if bld is not None and buildings:
        sources["buildings"] = f"db:{buildings} v{bld.info.version}"
        used[buildings] = bld.info.version
    from api.settings import sdc_secret

    text = areas_service.area_report(inc.frame, ar.frame, area, params,
                                     buildings=_frame(bld), sources=sources, lang=lang,
                                     secret=sdc_secret(rt.settings))
    return text.encode("utf-8"), used


def lagesbild(rt: Context, incidents: str, areas: str | None,
               params: lagesbild_service.LagesbildParams, kind: str
               ) -> tuple[bytes, dict[str, int]]:
    from api.settings import sdc_secret

    inc = rt.load(incidents, "incidents")
    ar = _optional(rt, areas, "areas")
    sources = [f"db:{incidents} v{inc.info.version}"]
    used = {incidents: inc.info.version}
    if ar is not None and areas:
        sources.append(f"db:{areas} v{ar.info.version}")
        used[areas] = ar.info.version
    secret = sdc_secret(rt.settings) if params.public else None
    result = lagesbild_service.lagesbild(inc.frame, _frame(ar), params, secret=secret,
                                         source=f"db:{incidents}",
                                         areas_source=f"db:{areas}")
    return lagesbild_service.lagesbild_file(result, params, kind, sources=sources), used
