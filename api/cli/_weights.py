"""Typer options shared by every command that weighs incidents.

``density``, ``score-sites``, ``select-sites`` and ``score-areas`` take the same
``--severity``, ``--half-life-days`` and ``--as-of`` options (contract "Weights")::

    from api.cli._weights import SeverityOpt, HalfLifeOpt, AsOfOpt, weight_options

    @app.command("score-areas")
    def score_areas(..., severity: SeverityOpt = None, half_life_days: HalfLifeOpt = 0.0,
                    as_of: AsOfOpt = None) -> None:
        weights = weight_options(severity, half_life_days, as_of)

The weights themselves are computed by the service
(:func:`api.service.common.incident_weights`), as for the API.
"""

from __future__ import annotations

from typing import Annotated

import typer

from api.service.common import WeightOptions

__all__ = ["SeverityOpt", "HalfLifeOpt", "AsOfOpt", "weight_options"]

SeverityOpt = Annotated[
    str | None,
    typer.Option(
        "--severity",
        metavar="FILE.csv|none",
        help=(
            "Severity per category: a CSV with columns category,severity (rows replace or "
            "add to the default table; category '*' sets the default for unknown ones), "
            "or 'none' for every severity 1. Default: the built-in table "
            "(violence > property > disorder, see docs/weights.md)."
        ),
        show_default=False,
    ),
]

HalfLifeOpt = Annotated[
    float,
    typer.Option(
        "--half-life-days",
        min=0.0,
        metavar="DAYS",
        help="Recency decay: an incident's weight halves every DAYS days before --as-of; "
        "0 turns decay off.",
    ),
]

AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="Reference date (YYYY-MM-DD, local) for the decay. Default: the newest "
        "incident's date.",
        show_default=False,
    ),
]


def weight_options(severity: str | None, half_life_days: float,
                   as_of: str | None) -> WeightOptions:
    """The three options as the service's :class:`~api.service.common.WeightOptions`."""
    return WeightOptions(severity=severity, half_life_days=half_life_days, as_of=as_of)
