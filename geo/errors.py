"""The exception tree of tryggkarta.

Every error a user can cause by their input is a :class:`TryggkartaError`. The CLI maps
these to an exit code and a one-paragraph message, the API to a 4xx status (one table in
``api``). Anything else that escapes is a bug and is allowed to be loud.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Problem",
    "TryggkartaError",
    "InputError",
    "CRSError",
    "EmptyLayerError",
    "AnalysisError",
    "NotFoundError",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one feature of an input layer.

    Parameters
    ----------
    source : str
        The file (or ``db:NAME``) the feature came from.
    index : int or None
        Zero-based position of the feature in the file; ``None`` when the problem
        concerns the whole layer (an unreadable file, an unknown CRS).
    reason : str
        What is wrong, in words a planner understands.

    Examples
    --------
    >>> str(Problem("cams.geojson", 3, "duplicate id 'A1'"))
    "cams.geojson: feature 3: duplicate id 'A1'"
    """

    source: str
    index: int | None
    reason: str

    def __str__(self) -> str:
        where = "" if self.index is None else f"feature {self.index}: "
        return f"{self.source}: {where}{self.reason}"


class TryggkartaError(Exception):
    """Base class of every error caused by user input or configuration."""


class InputError(TryggkartaError):
    """An input layer is not usable; carries every :class:`Problem` found.

    Examples
    --------
    >>> err = InputError([Problem("a.csv", 0, "missing time"), Problem("a.csv", 4, "bad x")])
    >>> print(err)
    a.csv: 2 invalid features
      a.csv: feature 0: missing time
      a.csv: feature 4: bad x
    """

    max_listed = 50

    def __init__(self, problems: Sequence[Problem] | Problem, summary: str | None = None):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.summary = summary
        super().__init__(self._message())

    @classmethod
    def single(cls, source: str, reason: str, index: int | None = None) -> InputError:
        """An error with one problem."""
        return cls([Problem(source, index, reason)])

    def _message(self) -> str:
        probs = self.problems
        if len(probs) == 1 and self.summary is None:
            return str(probs[0])
        sources = sorted({p.source for p in probs})
        n_feat = len({(p.source, p.index) for p in probs if p.index is not None})
        head = self.summary or f"{', '.join(sources)}: {n_feat} invalid features"
        lines = [head] + [f"  {p}" for p in probs[: self.max_listed]]
        if len(probs) > self.max_listed:
            lines.append(f"  ... and {len(probs) - self.max_listed} more problems")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self) -> tuple[type[InputError], tuple[list[Problem], str | None]]:
        # pickled whole (a worker process sends it back): problems and summary
        return (type(self), (self.problems, self.summary))


class CRSError(TryggkartaError):
    """A layer's CRS is unknown, missing where required, or not the metric CRS."""


class EmptyLayerError(InputError):
    """A layer has no (usable) features."""


class AnalysisError(TryggkartaError):
    """An analysis cannot run on the inputs given (e.g. an extent too large)."""


class NotFoundError(TryggkartaError):
    """A stored dataset (``db:NAME``) does not exist."""


def problems_from(source: str, items: Iterable[tuple[int | None, str]]) -> list[Problem]:
    """Build :class:`Problem` objects for one source from ``(index, reason)`` pairs."""
    return [Problem(source, i, r) for i, r in items]
