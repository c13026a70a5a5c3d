"""The ``evaluate`` command: before and after a camera or an ordningsvakt area.

Parses its options, calls :mod:`api.service.evaluation` and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli._common import (
    LAYER_OUTPUTS,
    SKIP_INVALID_HELP,
    CrsOpt,
    console,
    csv_crs,
    err_console,
    load_input,
    output_path,
)
from api.service import evaluation as service

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = ["app", "evaluate_cmd", "demo_start", "demo"]

app = typer.Typer()


def _load_treated(arg: str, *, skip_invalid: bool, crs: str | None) -> tuple:
    """The treated layer and its kind (areas = polygons, cameras = points)."""
    if arg.startswith("db:"):
        from api.storage import open_store

        store = open_store()
        kind = service.stored_treated_kind(store.info(arg[3:]).kind, source=arg)
        return load_input(arg, kind), kind
    from geo.crs import to_metric
    from geo.io import Layer, read_frame

    got = read_frame(arg, "areas", crs=crs)
    frame = got.frame if isinstance(got, Layer) else to_metric(got, source=arg)
    kind = service.treated_kind(frame, source=arg)
    return load_input(arg, kind, skip_invalid=skip_invalid, crs=crs), kind


@app.command("evaluate")
def evaluate_cmd(
    incidents: Annotated[str, typer.Option("--incidents", metavar="FILE",
                                           help="Incidents (points).")],
    treated: Annotated[str, typer.Option("--treated", metavar="FILE", help=(
        "Treated areas (polygons with id) or cameras (points with id: the treated area "
        "is the camera's coverage polygon at --level). A feature's own 'start' column "
        "overrides --start."))],
    out: Annotated[str, typer.Option("--out", metavar="F.geojson|F.gpkg|F.parquet|F.csv", help=(
        "The table to write (.csv; .geojson, .gpkg or .parquet with the treated "
        "polygons)."))],
    start: Annotated[str | None, typer.Option("--start", metavar="DATE", help=(
        "Start of the measure (YYYY-MM-DD, local time) for features without their own "
        "'start'."), show_default=False)] = None,
    months: Annotated[int, typer.Option("--months", metavar="N", help=(
        "Calendar months before and after the start."))] = 12,
    buffer_m: Annotated[float | None, typer.Option("--buffer-m", metavar="M", help=(
        "Width of the displacement ring around each treated area (m); default 200, and "
        "always 500 with --public."), show_default=False)] = None,
    control: Annotated[str | None, typer.Option("--control", metavar="FILE", help=(
        "Control area (polygons). Default: everything outside every treated area and "
        "every ring."), show_default=False)] = None,
    buildings: Annotated[str | None, typer.Option("--buildings", metavar="FILE", help=(
        "Building footprints blocking the cameras' sight."), show_default=False)] = None,
    level: Annotated[str, typer.Option("--level", metavar="LEVEL", help=(
        "DORI level of a camera's treated area."))] = "observe",
    report: Annotated[str | None, typer.Option("--report", metavar="F.html", help=(
        "Also write the evaluation report (self-contained HTML)."),
        show_default=False)] = None,
    public: Annotated[bool, typer.Option("--public", help=(
        "For publication: counts by the 100 m grid, protected by the cell key method, "
        "fixed 500 m ring, in the table and the report."))] = False,
    lang: Annotated[str | None, typer.Option("--lang", metavar="sv|en", help=(
        "Language of the report (default $TRYGGKARTA_LANG or sv)."),
        show_default=False)] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help=SKIP_INVALID_HELP)] = False,
    crs: CrsOpt = None,
) -> None:
    """Before and after: did a camera or an ordningsvakt area change anything?

    One row per treated feature: id, a_before, a_after (incidents in the treated area),
    b_before, b_after (in the ring around it, outside every treated area), c_before,
    c_after (in the control), res (relative effect size) with res_ci_low, res_ci_high
    (95 %), and wdq (weighted displacement quotient). Undefined values are empty.
    Only incidents with a point or street position count.
    """
    from geo.io import atomic_path, write_output

    target = output_path(out, LAYER_OUTPUTS)
    report_path = output_path(report, (".html",)) if report else None
    params = service.EvaluateParams(start=start, months=months, buffer_m=buffer_m,
                                    level=level, public=public)
    if lang is not None:
        from api.service.common import parse_lang

        lang = parse_lang(lang)
    inc = load_input(incidents, "incidents", skip_invalid=skip_invalid,
                     crs=csv_crs(incidents, crs))
    tr, kind = _load_treated(treated, skip_invalid=skip_invalid, crs=csv_crs(treated, crs))
    bld = load_input(buildings, "buildings", skip_invalid=skip_invalid) if buildings else None
    ctrl = load_input(control, "areas", skip_invalid=skip_invalid) if control else None
    secret = None
    if public:
        from api.settings import get_settings, sdc_secret

        secret = sdc_secret(get_settings())
    ev = service.evaluate(inc, tr, params, kind=kind, buildings=bld, control=ctrl,
                          secret=secret, source=treated)
    html = None
    if report_path is not None:
        sources = [Path(a).name if not a.startswith("db:") else a
                   for a in (incidents, treated, control, buildings) if a]
        html = service.report(ev, kind=kind, level=params.level, lang=lang, sources=sources)
    frame = service.table(ev) if target.suffix != ".csv" else ev.table
    write_output(frame, target)
    if html is not None and report_path is not None:
        with atomic_path(report_path) as tmp:
            tmp.write_text(html, encoding="utf-8")
    for gap in service.period_gaps(ev, inc):
        err_console.print(f"note: {gap}: months the incidents do not cover count as none",
                          highlight=False, markup=False)
    if ev.left_out:
        err_console.print(f"note: {ev.left_out:,} incidents with only a municipality/county/"
                          "district position were left out", highlight=False)
    console.print(f"wrote {target}: {len(ev.table)} treated {kind}, "
                  f"{ev.months} months before and after, ring {ev.buffer_m:g} m"
                  + (", public (protected counts)" if ev.public else "")
                  + (f"; report {report_path}" if report_path else ""),
                  highlight=False, markup=False)
    for _, r in ev.table.iterrows():
        res = "–" if r["res"] != r["res"] else f"{r['res']:.2f}"
        console.print(f"  {r['id']}: area {r['a_before']} → {r['a_after']}, ring "
                      f"{r['b_before']} → {r['b_after']}, control {r['c_before']} → "
                      f"{r['c_after']}; RES {res}", highlight=False, markup=False)


def demo_start(times: pd.Series) -> tuple[str, int]:
    """A start date (``YYYY-MM-DD``, the first of a month) in the middle of the times'
    calendar months (local time), and the months before and after it (at most 12).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Series(pd.to_datetime(["2024-11-01T03:14Z", "2026-10-31T22:57Z"], utc=True))
    >>> demo_start(t)
    ('2025-11-01', 12)
    >>> demo_start(pd.Series(pd.to_datetime(["2025-01-05T12:00Z", "2025-06-30T12:00Z"],
    ...                                     utc=True)))
    ('2025-04-01', 3)
    """
    from geo.times import local

    t = local(times)
    first, last = t.min(), t.max()
    n = (last.year - first.year) * 12 + last.month - first.month + 1
    half = n // 2
    index = first.year * 12 + first.month - 1 + half
    return f"{index // 12:04d}-{index % 12 + 1:02d}-01", max(1, min(12, half))


def demo(layers: dict[str, gpd.GeoDataFrame], out: Path) -> list[str]:
    """An evaluation with the demo areas as treated, started in the middle of the
    incidents' period, and its report.

    Writes ``evaluation.csv`` and ``evaluation_report.html`` (in the language of
    ``TRYGGKARTA_LANG``, Swedish by default) into ``out``. Returns short summary lines.
    """
    from geo.documents import resolve_lang
    from geo.errors import AnalysisError, InputError
    from geo.io import atomic_path, write_output

    inc, ar = layers.get("incidents"), layers.get("areas")
    if inc is None or ar is None or len(inc) == 0 or len(ar) == 0:
        return []
    start, months = demo_start(inc["time"])
    params = service.EvaluateParams(start=start, months=months)
    try:
        ev = service.evaluate(inc, ar, params, kind="areas", source="areas.geojson")
    except (AnalysisError, InputError) as exc:
        return [f"evaluation skipped: {exc}"]
    html = service.report(ev, kind="areas", level=params.level, lang=resolve_lang(None),
                          sources=["data/demo/incidents.geojson", "data/demo/areas.geojson"])
    write_output(ev.table, out / "evaluation.csv")
    with atomic_path(out / "evaluation_report.html") as tmp:
        tmp.write_text(html, encoding="utf-8")
    res = ", ".join(f"{r['id']} {'–' if r['res'] != r['res'] else format(r['res'], '.2f')}"
                    for _, r in ev.table.iterrows())
    return [f"evaluation of the {len(ar)} areas as if treated from {start} ({months} months "
            f"before and after): RES {res} -> evaluation.csv, evaluation_report.html"]
