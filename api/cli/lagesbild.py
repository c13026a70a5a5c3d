"""``tryggkarta lagesbild``: the municipality's situation picture (lag 2023:196).

Parses its options into :class:`api.service.lagesbild.LagesbildParams`, calls the
service and writes the folder with :func:`geo.lagesbild_doc.write_lagesbild`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli._common import SKIP_INVALID_HELP, CrsOpt, console, csv_crs, err_console, load_input
from api.service import lagesbild as service

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = ["app", "lagesbild_cmd", "newest_full_month", "demo"]

app = typer.Typer()


def _source_name(arg: str) -> str:
    """A stored dataset's name, or a file's name without its folders (a published
    document should not show local paths)."""
    return arg if arg.startswith("db:") else Path(arg).name


@app.command("lagesbild")
def lagesbild_cmd(
    incidents: Annotated[str, typer.Option("--incidents", metavar="FILE",
                                           help="Incidents (any precision; Polisen's "
                                           "events JSON too).")],
    period: Annotated[str, typer.Option("--period", metavar="YYYY-MM",
                                        help="The period's last month (local time).")],
    out: Annotated[str, typer.Option("--out", metavar="DIR",
                                     help="The folder to write (made when missing).")],
    areas: Annotated[str | None, typer.Option(
        "--areas", metavar="FILE", show_default=False,
        help="Areas (polygons with id, name): districts or any areas layer.")] = None,
    months: Annotated[int, typer.Option(
        "--months", metavar="N", help="Calendar months in the period (1-12).")] = 1,
    public: Annotated[bool, typer.Option(
        "--public", help="The public variant: disclosure-controlled counts (cell key "
        "method on the 100 m grid), no incident position.")] = False,
    lang: Annotated[str | None, typer.Option(
        "--lang", metavar="sv|en", show_default=False,
        help="Language of the document (default: TRYGGKARTA_LANG or sv).")] = None,
    groups: Annotated[str | None, typer.Option(
        "--groups", metavar="FILE.csv|none", show_default=False,
        help="Grouping of categories (columns category,group; replaces the default group "
        "of events that create insecurity in public places, docs/lagesbild.md).")] = None,
    survey: Annotated[str | None, typer.Option(
        "--survey", metavar="F.csv", show_default=False,
        help="Other relevant information per area: area_id and indicator columns "
        "(e.g. a safety survey), shown beside the incident figures.")] = None,
    title: Annotated[str, typer.Option(
        "--title", metavar="TEXT", help="Printed after 'Lägesbild <period>', e.g. the "
        "municipality.")] = "",
    pdf: Annotated[bool | None, typer.Option(
        "--pdf/--no-pdf", show_default=False,
        help="Require (or skip) lagesbild.pdf; default: written when Chromium is "
        "installed.")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help=SKIP_INVALID_HELP)] = False,
    crs: CrsOpt = None,
) -> None:
    """Write the lägesbild of a period into DIR: lagesbild.html (self-contained),
    lagesbild.pdf (with Chromium), lagesbild_counts.csv, lagesbild_monthly.csv and
    lagesbild.xlsx.

    The period is the N calendar months ending with --period in local time
    (Europe/Stockholm), compared with the N months before and the same months a year
    earlier (two-sided exact binomial test), with 24-month series and trends, weekday x
    hour, a map of density and Gi* hot spots, and observations for the reader to weigh.
    Area figures count point and street incidents inside each area; the whole layer's
    (ALL) count every incident. See docs/lagesbild.md.
    """
    params = service.LagesbildParams(period=period, months=months, public=public, lang=lang,
                                     title=title, groups=groups)
    from geo.lagesbild import load_groups, read_survey
    from geo.lagesbild_doc import check_out_dir, write_lagesbild

    target = check_out_dir(out)
    table = load_groups(groups)
    inc = load_input(incidents, "incidents", skip_invalid=skip_invalid,
                     crs=csv_crs(incidents, crs))
    ar = load_input(areas, "areas", skip_invalid=skip_invalid,
                    crs=csv_crs(areas, crs)) if areas else None
    sv = None
    if survey is not None:
        if ar is None:
            from api.service.errors import ParameterError

            raise ParameterError("survey", "needs {areas} (the survey gives figures per area)")
        sv = read_survey(survey, ar["id"].astype(str).tolist())
    secret = None
    if public:
        from api.settings import get_settings, sdc_secret

        secret = sdc_secret(get_settings())
    result = service.lagesbild(inc, ar, params, groups=table, survey=sv, secret=secret,
                               source=incidents, areas_source=areas or "areas")
    sources = [f"{_source_name(incidents)}"]
    if areas:
        sources.append(_source_name(areas))
    if survey:
        sources.append(_source_name(survey))
    written = write_lagesbild(result, target, lang=params.lang, title=params.title,
                              sources=sources, pdf=pdf)
    whole = result.row()
    console.print(f"wrote {target}: {', '.join(p.name for p in written.values())}",
                  highlight=False, markup=False)
    n = int(whole["count"])
    console.print(f"  {', '.join(result.period.labels)}: {n:,} incident{'' if n == 1 else 's'} "
                  f"(previous {int(whole['previous']):,}, a year earlier "
                  f"{int(whole['last_year']):,})" + (" [public: protected counts]"
                                                      if public else ""),
                  highlight=False, markup=False)
    if "pdf" not in written and pdf is None:
        err_console.print("note: Chromium was not found, so no lagesbild.pdf was written "
                          "(install the Debian package 'chromium')", highlight=False)
    if result.data_range is not None and result.notes.get("incidents_in_series") == 0:
        first, last = result.data_range
        err_console.print(f"note: no incident in the 24 months to {result.period.labels[-1]}; "
                          f"{incidents} runs from {first:%Y-%m-%d} to {last:%Y-%m-%d}",
                          highlight=False, markup=False)


def newest_full_month(times: pd.Series) -> str:
    """The newest calendar month (local time, ``YYYY-MM``) that the times cover to its end.

    The month of the newest time when that time falls on the month's last day, else the
    month before.

    Examples
    --------
    >>> import pandas as pd
    >>> newest_full_month(pd.Series(pd.to_datetime(["2026-09-03T08:00Z",
    ...                                             "2026-10-31T22:57Z"], utc=True)))
    '2026-10'
    >>> newest_full_month(pd.Series(pd.to_datetime(["2026-10-30T22:57Z"], utc=True)))
    '2026-09'
    """
    import pandas as pd

    from geo.times import local

    last = local(times).max()
    month = pd.Period(year=last.year, month=last.month, freq="M")
    if last.day != month.days_in_month:
        month -= 1
    return str(month)


def demo(layers: dict[str, gpd.GeoDataFrame], out: Path) -> list[str]:
    """The lägesbild of the demo incidents' newest full month, with the demo areas.

    Writes ``out/lagesbild/`` (HTML, PDF with Chromium, the two CSV tables, the workbook)
    and the public variant ``out/lagesbild_public/`` (protected counts, no PDF), in the
    language of ``TRYGGKARTA_LANG`` (Swedish by default). Returns short summary lines.
    """
    from api.settings import get_settings, sdc_secret
    from geo.documents import gettext, resolve_lang
    from geo.errors import AnalysisError
    from geo.lagesbild_doc import write_lagesbild

    inc = layers.get("incidents")
    if inc is None or len(inc) == 0:
        return []
    ar = layers.get("areas")
    lang = resolve_lang(None)
    period = newest_full_month(inc["time"])
    title = gettext("tryggkarta demo: central Stockholm", lang=lang, domain="maps")
    sources = ["data/demo/incidents.geojson"] + (["data/demo/areas.geojson"]
                                                 if ar is not None else [])
    settings = get_settings()
    if settings.sdc_secret is None:  # the demo's key file lives in its own store
        settings = settings.model_copy(update={"data_dir": out / "store"})
    lines: list[str] = []
    for public, folder in ((False, "lagesbild"), (True, "lagesbild_public")):
        params = service.LagesbildParams(period=period, public=public, lang=lang,
                                         title=title)
        try:
            result = service.lagesbild(inc, ar, params,
                                       secret=sdc_secret(settings) if public else None,
                                       source="incidents.geojson",
                                       areas_source="areas.geojson")
        except AnalysisError as exc:
            return lines + [f"lägesbild skipped: {exc}"]
        written = write_lagesbild(result, out / folder, lang=lang, title=params.title,
                                  sources=sources, pdf=None if not public else False)
        whole = result.row()
        lines.append(f"lägesbild {period}{' (public)' if public else ''}: "
                     f"{int(whole['count'])} incidents (previous {int(whole['previous'])}, "
                     f"a year earlier {int(whole['last_year'])}) -> {folder}/"
                     f"{{{', '.join(p.name for p in written.values())}}}")
    return lines
