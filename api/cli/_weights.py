"""Typer options shared by every command that weighs incidents.

``density``, ``score-sites``, ``select-sites`` and ``score-areas`` take the same
``--severity``, ``--half-life-days`` and ``--as-of`` options (contract "Weights")::

    from api.cli._weights import SeverityOpt, HalfLifeOpt, AsOfOpt, weights_from_options

    @app.command("score-areas")
    def score_areas(..., severity: SeverityOpt = None, half_life_days: HalfLifeOpt = 0.0,
                    as_of: AsOfOpt = None) -> None:
        w = weights_from_options(incidents, severity=severity,
                                 half_life_days=half_life_days, as_of=as_of)
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from geo.errors import AnalysisError
from geo.weights import incident_weights, load_severity

__all__ = ["SeverityOpt", "HalfLifeOpt", "AsOfOpt", "weights_from_options"]

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


def weights_from_options(
    incidents: pd.DataFrame,
    *,
    severity: str | None = None,
    half_life_days: float = 0.0,
    as_of: str | None = None,
) -> pd.Series:
    """The incidents' weights (index-aligned Series) from the three CLI options.

    Bad values raise :class:`geo.errors.InputError` (exit 1 with the file/row/reason).
    """
    table = load_severity(severity)
    w = incident_weights(
        incidents, severity=table, half_life_days=half_life_days, as_of=as_of
    )
    if len(w) and not (w > 0).any():
        # e.g. --as-of decades after the incidents with a short half-life: every weight
        # underflows to 0 and each analysis would silently rank nothing
        raise AnalysisError(
            f"every one of the {len(w):,} incidents has weight 0 (weight × severity × "
            f"recency decay; --severity {severity or 'default'}, --half-life-days "
            f"{half_life_days:g}, --as-of {as_of or 'newest incident'}): nothing to analyse")
    return w
