"""Map commands: ``map`` (one self-contained HTML file) and ``print-map`` (PNG/PDF).

Printing renders the HTML page in headless Chromium (Debian package ``chromium``),
offline and with a fresh profile, so a PNG or PDF for an appendix shows exactly
what the HTML shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, overload

import typer

from api.cli._common import (
    SKIP_INVALID_HELP,
    CrsOpt,
    LangOpt,
    console,
    csv_crs,
    load_input,
    output_path,
)
from geo import chromium as _chromium
from geo.chromium import CHROMIUM_FLAGS, find_chromium
from geo.errors import AnalysisError, InputError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = ["app", "map_cmd", "print_map_cmd", "print_map", "find_chromium", "demo",
           "CHROMIUM_FLAGS"]

app = typer.Typer()

#: Page size of PNGs (CSS pixels) and of PDFs (A4 landscape at 96 dpi).
PNG_SIZE = _chromium.PNG_SIZE
PDF_SIZE = _chromium.PDF_LANDSCAPE_SIZE


def print_map(
    html: str | Path,
    *,
    png: str | Path | None = None,
    pdf: str | Path | None = None,
    budget_ms: int = 8000,
    chromium: str | None = None,
    timeout_s: float = 120.0,
) -> list[Path]:
    """Render an HTML map to PNG and/or PDF with headless Chromium (:mod:`geo.chromium`).

    Parameters
    ----------
    html : str or Path
        The map page (from :func:`geo.maps.write_map`).
    png, pdf : str or Path, optional
        Outputs, written atomically. The PNG is 1400 × 1000 px, the PDF one A4
        landscape page.
    budget_ms : int
        Virtual time Chromium gives the page before capturing (ms), so Leaflet has
        drawn every layer.
    chromium : str, optional
        The executable (default: :func:`geo.chromium.find_chromium`).

    Returns
    -------
    list of Path
        The files written.
    """
    src = Path(html)
    if not src.is_file():
        raise InputError.single(str(html), "no such file")
    written = []
    if png is not None:
        written.append(_chromium.html_to_png(src, png, size=PNG_SIZE, budget_ms=budget_ms,
                                             chromium=chromium, timeout_s=timeout_s))
    if pdf is not None:
        written.append(_chromium.html_to_pdf(src, pdf, size=PDF_SIZE, budget_ms=budget_ms,
                                             chromium=chromium, timeout_s=timeout_s))
    return written


def _crs_of_csv(path: str) -> str | None:
    """EPSG:3006 for a CSV with x,y and no lon,lat (the tables tryggkarta writes)."""
    if not path.lower().endswith(".csv") or not Path(path).is_file():
        return None
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        head = fh.readline().strip().lower()
    cols = {c.strip() for c in head.replace(";", ",").split(",")}
    return "EPSG:3006" if {"x", "y"} <= cols and not {"lon", "lat"} <= cols else None


def _layer(path: str | None, kind: str, skip: bool,
           crs: str | None = None) -> gpd.GeoDataFrame | None:
    if path is None:
        return None
    return load_input(path, kind, skip_invalid=skip,  # type: ignore[arg-type]
                      crs=csv_crs(path, crs) or _crs_of_csv(path))


def _table(path: str, *, geometry_ok: bool = True) -> pd.DataFrame:
    """A CSV table (EPSG:3006 x/y kept as columns) or a vector layer in EPSG:3006."""
    import geopandas as gpd
    import pandas as pd

    from geo.crs import to_metric
    from geo.io import read_frame

    p = Path(path)
    if not p.is_file():
        raise InputError.single(path, "no such file")
    if p.suffix.lower() == ".csv":
        try:
            return pd.read_csv(p, dtype={"id": str, "camera_id": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError.single(path, f"cannot read the CSV: {exc}") from exc
    frame = read_frame(p)
    if not isinstance(frame, gpd.GeoDataFrame):  # a Polisen file
        raise InputError.single(path, "not a table or layer of this kind")
    return to_metric(frame, source=path) if geometry_ok else pd.DataFrame(frame)


@overload
def _coverage(path: str) -> gpd.GeoDataFrame: ...
@overload
def _coverage(path: None) -> None: ...
@overload
def _coverage(path: str | None) -> gpd.GeoDataFrame | None: ...
def _coverage(path: str | None) -> gpd.GeoDataFrame | None:
    import geopandas as gpd

    if path is None:
        return None
    frame = _table(path)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError.single(path, "coverage must be polygons (GeoJSON from 'coverage')")
    missing = [c for c in ("camera_id", "level") if c not in frame.columns]
    if missing:
        raise InputError.single(path, f"missing field {missing[0]!r}")
    return frame


FileOpt = Annotated[str | None, typer.Option(metavar="FILE", show_default=False)]


@app.command("map")
def map_cmd(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    incidents: Annotated[str | None, typer.Option(
        metavar="FILE", help="Incidents (clustered points; cells with --public).",
        show_default=False)] = None,
    sites: Annotated[str | None, typer.Option(
        metavar="FILE", help="Candidate sites (score-sites output is coloured by score).",
        show_default=False)] = None,
    scores: Annotated[str | None, typer.Option(
        metavar="FILE", help="score-sites table to join onto --sites by id.",
        show_default=False)] = None,
    selected: Annotated[str | None, typer.Option(
        metavar="FILE", help="select-sites table (positions from --sites by id).",
        show_default=False)] = None,
    cameras: Annotated[str | None, typer.Option(
        metavar="FILE", help="Existing cameras.", show_default=False)] = None,
    coverage: Annotated[str | None, typer.Option(
        metavar="FILE", help="Coverage polygons (output of 'coverage').",
        show_default=False)] = None,
    buildings: Annotated[str | None, typer.Option(
        metavar="FILE", help="Building footprints.", show_default=False)] = None,
    areas: Annotated[str | None, typer.Option(
        metavar="FILE", help="Areas (score-areas GeoJSON shows its statistics).",
        show_default=False)] = None,
    area_stats: Annotated[str | None, typer.Option(
        "--area-stats", metavar="FILE", help="score-areas table to join onto --areas by id.",
        show_default=False)] = None,
    sensitive: Annotated[str | None, typer.Option(
        metavar="FILE", help="Sensitive places ('kind').", show_default=False)] = None,
    density: Annotated[str | None, typer.Option(
        metavar="FILE", help="Density grid (CSV from 'density'): density and hot spots.",
        show_default=False)] = None,
    emerging: Annotated[str | None, typer.Option(
        metavar="FILE", help="Emerging hot spot grid (CSV from 'emerging-hotspots'): the "
        "sixteen patterns in their colours.", show_default=False)] = None,
    public: Annotated[bool, typer.Option(
        "--public", help="For public documents: incidents only as protected counts in "
        "national 100 m grid cells (cell key method, docs/disclosure.md), no incident "
        "position in the file, no density/hot-spot grid, no site score or weight.")] = False,
    title: Annotated[str, typer.Option(help="Title on the map.")] = "tryggkarta",
    source: Annotated[list[str] | None, typer.Option(
        "--source", metavar="TEXT", help="A data source to list on the map (repeatable; "
        "default: the input files).", show_default=False)] = None,
    tiles: Annotated[bool, typer.Option(
        "--tiles/--no-tiles", help="OpenStreetMap base map (needs network when viewed).")] = True,
    png: Annotated[Path | None, typer.Option(
        metavar="FILE.png", help="Also print the map to a PNG (headless Chromium).",
        show_default=False)] = None,
    pdf: Annotated[Path | None, typer.Option(
        metavar="FILE.pdf", help="Also print the map to an A4 PDF (headless Chromium).",
        show_default=False)] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help=SKIP_INVALID_HELP)] = False,
    crs: CrsOpt = None,
    lang: LangOpt = None,
) -> None:
    """Draw the given layers on one self-contained HTML map (works offline)."""
    import geopandas as gpd
    import pandas as pd

    from api.service.common import parse_lang
    from geo.maps import OSM_TILES, join_by_id, source_line, write_map

    lang = parse_lang(lang)

    target = output_path(out, (".html", ".htm"))
    for extra, suffix in ((png, ".png"), (pdf, ".pdf")):
        if extra is not None:
            output_path(extra, (suffix,))
    given = {"incidents": incidents, "sites": sites, "cameras": cameras,
             "buildings": buildings, "areas": areas, "sensitive": sensitive,
             "coverage": coverage, "density": density, "emerging": emerging,
             "selected": selected}
    if not any(given.values()):
        raise typer.BadParameter("give at least one layer (--incidents, --sites, ...)")
    if selected is not None and sites is None:
        raise typer.BadParameter("--selected needs --sites (the chosen ids are drawn at "
                                 "their sites' positions)")
    layers = {k: _layer(given[k], k, skip_invalid, crs)
              for k in ("incidents", "sites", "cameras", "buildings", "areas", "sensitive")}
    if scores is not None:
        if layers["sites"] is None:
            raise typer.BadParameter("--scores needs --sites")
        layers["sites"] = join_by_id(layers["sites"], _table(scores, geometry_ok=False),
                                     source=scores)
    if area_stats is not None:
        if layers["areas"] is None:
            raise typer.BadParameter("--area-stats needs --areas")
        layers["areas"] = join_by_id(layers["areas"], _table(area_stats, geometry_ok=False),
                                     source=area_stats)
    if density and Path(density).suffix.lower() not in (".csv", ".geojson", ".json"):
        raise InputError.single(density, "the density grid must be the .csv or .geojson "
                                "written by 'tryggkarta density'")
    dens = _table(density) if density else None
    grid_columns = {"count", "density", "gi_z", "hotspot"}
    if density and dens is not None and not grid_columns & set(dens.columns):
        raise InputError.single(density, "not a density grid: it has none of the columns "
                                "count, density, gi_z, hotspot (use the output of "
                                "'tryggkarta density')")
    if emerging and Path(emerging).suffix.lower() not in (".csv", ".geojson", ".json",
                                                          ".gpkg", ".parquet"):
        raise InputError.single(emerging, "the emerging hot spot grid must be a file "
                                "written by 'tryggkarta emerging-hotspots'")
    emer = _table(emerging) if emerging else None
    if emerging and emer is not None and "pattern" not in emer.columns:
        raise InputError.single(emerging, "not an emerging hot spot grid: it has no column "
                                "pattern (use the output of 'tryggkarta emerging-hotspots')")
    sel = _table(selected) if selected else None
    if sel is not None and isinstance(sel, gpd.GeoDataFrame):
        sel = pd.DataFrame(sel.drop(columns=sel.geometry.name))
    sources = source or [source_line(k, Path(v).name, lang=lang) for k, v in given.items()
                         if v]
    from api.settings import get_settings, sdc_secret

    write_map(target, **layers, coverage=_coverage(coverage), density=dens, emerging=emer,
              selected=sel,
              public=public, secret=sdc_secret(get_settings()) if public else None,
              title=title, sources=sources,
              tiles=OSM_TILES if tiles else None, lang=lang)
    console.print(f"wrote {target}" + (" (public)" if public else ""), highlight=False)
    if png or pdf:
        for p in print_map(target, png=png, pdf=pdf):
            console.print(f"wrote {p}", highlight=False)


@app.command("print-map")
def print_map_cmd(
    html: Annotated[Path, typer.Argument(help="The HTML map (from 'map').")],
    png: Annotated[Path | None, typer.Option(metavar="FILE.png", help="PNG to write.",
                                             show_default=False)] = None,
    pdf: Annotated[Path | None, typer.Option(metavar="FILE.pdf", help="A4 PDF to write.",
                                             show_default=False)] = None,
    budget_ms: Annotated[int, typer.Option(
        "--budget-ms", min=500, help="Virtual time for the page to draw (ms).")] = 8000,
) -> None:
    """Render an HTML map to PNG and/or PDF with headless Chromium (offline)."""
    if png is None and pdf is None:
        raise typer.BadParameter("give --png and/or --pdf")
    for extra, suffix in ((png, ".png"), (pdf, ".pdf")):
        if extra is not None:
            output_path(extra, (suffix,))
    if not html.is_file():
        raise InputError.single(str(html), "no such file")
    for p in print_map(html, png=png, pdf=pdf, budget_ms=budget_ms):
        console.print(f"wrote {p}", highlight=False)


def _read_if(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    import pandas as pd

    return pd.read_csv(path, dtype={"id": str, "camera_id": str})


def _demo_coverage(out: Path, selected: pd.DataFrame | None) -> gpd.GeoDataFrame | None:
    """Coverage of the existing cameras and of the selected sites."""
    import geopandas as gpd
    import pandas as pd

    parts = []
    cams = out / "coverage_cameras.geojson"
    if cams.is_file():
        parts.append(_coverage(str(cams)))
    sts = out / "coverage_sites.geojson"
    if sts.is_file() and selected is not None and "id" in selected.columns:
        cov = _coverage(str(sts))
        parts.append(cov[cov["camera_id"].astype(str).isin(selected["id"].astype(str))])
    if not parts:
        return None
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)


def demo(layers: dict[str, gpd.GeoDataFrame], out: Path) -> list[str]:
    """Review and public maps of the demo layers (and the analyses already in ``out``).

    Uses ``density.csv``, ``coverage_cameras.geojson``, ``site_scores.csv``,
    ``site_selection.csv`` and ``area_scores.csv`` from ``out`` when the other demo
    parts wrote them. Writes ``map.html``, ``map_public.html`` and, when Chromium is
    installed, ``map.png``.
    """
    from geo.documents import gettext, resolve_lang
    from geo.maps import join_by_id, write_map

    lines: list[str] = []
    kinds = ("incidents", "sites", "cameras", "buildings", "areas", "sensitive")
    kw: dict[str, Any] = {k: layers.get(k) for k in kinds}  # frames or None
    scores = _read_if(out / "site_scores.csv")
    if scores is not None and kw["sites"] is not None:
        kw["sites"] = join_by_id(kw["sites"], scores, source="site_scores.csv")
    stats = _read_if(out / "area_scores.csv")
    if stats is not None and kw["areas"] is not None:
        kw["areas"] = join_by_id(kw["areas"], stats, source="area_scores.csv")
    kw["density"] = _read_if(out / "density.csv")
    kw["selected"] = _read_if(out / "site_selection.csv")
    if kw["buildings"] is None:
        from api.cli.data import DEMO_DIR

        osm = DEMO_DIR.parent / "osm" / "buildings.geojson"
        if osm.is_file():
            kw["buildings"] = load_input(str(osm), "buildings")
    kw["coverage"] = _demo_coverage(out, kw["selected"])
    lang = resolve_lang(None)
    sources = [gettext("Buildings, sensitive places: © OpenStreetMap contributors (ODbL)",
                       lang=lang, domain="maps"),
               gettext("incidents, sites, cameras, areas: synthetic demo data "
                       "(data/make_demo.py)", lang=lang, domain="maps")]
    review = write_map(out / "map.html", **kw, sources=sources, lang=lang,
                       title=gettext("tryggkarta demo: central Stockholm", lang=lang,
                                     domain="maps"))
    from api.settings import get_settings, sdc_secret

    settings = get_settings()
    if settings.sdc_secret is None:  # the demo's key file lives in its own store
        settings = settings.model_copy(update={"data_dir": out / "store"})
    public = write_map(out / "map_public.html", **kw, public=True,
                       secret=sdc_secret(settings), sources=sources, lang=lang,
                       title=gettext("tryggkarta demo: central Stockholm (public)",
                                     lang=lang, domain="maps"))
    drawn = [k for k, v in kw.items() if v is not None]
    lines.append(f"maps of {', '.join(drawn)} -> {review.name}, {public.name} (public: "
                 "incidents only as 100 m cell counts)")
    try:
        print_map(review, png=out / "map.png")
        lines.append("map printed with headless Chromium -> map.png")
    except AnalysisError as exc:
        lines.append(f"map.png skipped: {exc}")
    return lines
