"""Errors of the application layer, in the domain tree of :mod:`geo.errors`.

A :class:`ParameterError` names the parameter it is about by its canonical name (the
HTTP query name, e.g. ``cell_m``); each interface spells it its own way when it prints
the message (``--cell`` on the command line), so the message is otherwise the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from geo.errors import AnalysisError, TryggkartaError

__all__ = ["ParameterError", "OutOfRangeError", "UnmetParameterError", "CLI_OPTION",
           "cli_option"]

_NAME = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_NO: Final = object()

#: Canonical parameter name -> command-line option where it is not ``--`` + the name
#: with dashes.
CLI_OPTION: Final[dict[str, str]] = {
    "cell_m": "--cell",
    "bandwidth_m": "--bandwidth",
    "time_limit_s": "--time-limit",
    "hotspot_distance_m": "--hotspot-distance",
    "kind": "KIND",
}


def cli_option(name: str) -> str:
    """The command-line spelling of a canonical parameter name.

    Examples
    --------
    >>> cli_option("cell_m"), cli_option("half_life_days"), cli_option("k")
    ('--cell', '--half-life-days', '--k')
    """
    return CLI_OPTION.get(name, "--" + name.replace("_", "-"))


_PLAIN = re.compile(r"[\w.:+-]+")


def _shown(value: object) -> str:
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return repr(value)
    return f"{value:,g}" if isinstance(value, float) else f"{value:,}"


def _http_name(name: str) -> str:
    return name


class ParameterError(TryggkartaError):
    """An option or query parameter has a value that cannot be used.

    Parameters
    ----------
    param : str
        The canonical parameter name (the HTTP query name).
    reason : str
        Why; ``{name}`` in it names another parameter (spelled per interface).
    value : object, optional
        The value given, shown with ``repr``.

    Examples
    --------
    >>> e = ParameterError("extent", "four numbers expected", value="1 2")
    >>> str(e)
    "extent '1 2': four numbers expected"
    >>> e.render(cli_option)
    "--extent '1 2': four numbers expected"
    >>> ParameterError("k", "give exactly one of {k} and {budget}").render(cli_option)
    '--k: give exactly one of --k and --budget'
    """

    def __init__(self, param: str, reason: str, *, value: object = _NO) -> None:
        self.param = param
        self.reason = reason
        self.value = value
        super().__init__(self.render())

    def render(self, spell: Callable[[str], str] = _http_name) -> str:
        """The message, naming parameters with ``spell`` (default: the HTTP names)."""
        head = spell(self.param) + ("" if self.value is _NO else f" {_shown(self.value)}")
        return f"{head}: {_NAME.sub(lambda m: spell(m[1]), self.reason)}"

    def __str__(self) -> str:
        return self.render()

    def __reduce__(self) -> tuple[object, ...]:
        # pickled whole (a worker process sends it back)
        given = self.value is not _NO
        return (_rebuild, (type(self), self.param, self.reason, given,
                           self.value if given else None))


def _rebuild(cls: type[ParameterError], param: str, reason: str, given: bool,
             value: object) -> ParameterError:
    return cls(param, reason, value=value) if given else cls(param, reason)


class OutOfRangeError(ParameterError):
    """A number no analysis can work with: a cell of 1e-320 m, an extent of 1e308 m or
    one outside Sweden. An input error (CLI exit 1, issue 16), answered 422
    ``parameter_error`` like every bad parameter."""


class UnmetParameterError(ParameterError, AnalysisError):
    """A well-formed parameter that these inputs cannot meet (e.g. a budget below every
    site's cost): an analysis error (CLI exit 1), not a usage error."""
