"""The one table mapping domain errors to HTTP status codes, and the JSON error body.

``geo`` raises errors free of HTTP (:mod:`geo.errors`); this module turns them into 4xx
answers with the same message the CLI prints, plus the list of problems (file, feature
index, reason) when there are any::

    {"detail": "kameror.geojson: 2 invalid features\\n  ...",
     "problems": [{"source": "kameror.geojson", "index": 3, "reason": "duplicate id 'A1'"}]}

Nothing else is caught: an exception outside the tree is a bug and stays a 500 (the
schemathesis test in ``tests/test_api_schema.py`` makes sure no input reaches one).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.storage import StorageError
from geo.errors import (
    AnalysisError,
    CRSError,
    EmptyLayerError,
    InputError,
    NotFoundError,
    TryggkartaError,
)

__all__ = ["ERROR_STATUS", "RequestTooSlow", "status_for", "error_body", "install_handlers"]


class RequestTooSlow(AnalysisError):
    """An analysis did not finish within ``TRYGGKARTA_REQUEST_TIMEOUT_S``."""


#: Domain error class -> HTTP status. The most specific class in an error's MRO wins.
ERROR_STATUS: Final[dict[type[BaseException], int]] = {
    EmptyLayerError: 422,
    InputError: 422,
    CRSError: 422,
    AnalysisError: 422,
    RequestTooSlow: 422,
    NotFoundError: 404,
    StorageError: 503,
    TryggkartaError: 400,
}


def status_for(exc: BaseException) -> int:
    """The status of a domain error (walking its class hierarchy).

    Examples
    --------
    >>> status_for(NotFoundError("db:x: no such dataset")), status_for(CRSError("bad"))
    (404, 422)
    """
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 400


def error_body(exc: TryggkartaError) -> dict[str, Any]:
    """The JSON body of an error answer: ``detail`` (the CLI's message) and ``problems``.

    Examples
    --------
    >>> error_body(InputError.single("a.csv", "missing time", 0))["problems"]
    [{'source': 'a.csv', 'index': 0, 'reason': 'missing time'}]
    """
    body: dict[str, Any] = {"detail": str(exc), "error": type(exc).__name__}
    if isinstance(exc, InputError):
        body["problems"] = [
            {"source": p.source, "index": p.index, "reason": p.reason} for p in exc.problems
        ]
    return body


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TryggkartaError)
    request.state.audit_error = str(exc).splitlines()[0][:300]
    return JSONResponse(error_body(exc), status_code=status_for(exc))


def install_handlers(app: FastAPI) -> None:
    """Register the handler of every domain error on ``app``."""
    app.add_exception_handler(TryggkartaError, _handle)
