"""The one table mapping domain errors to HTTP statuses and codes, and the error body.

``geo`` and :mod:`api.service` raise errors free of HTTP (:mod:`geo.errors`,
:mod:`api.service.errors`); this module turns them into 4xx answers with the same
message the CLI prints (parameters named as query parameters), a stable ``code``, and
the list of problems (file, feature index, reason) when there are any::

    {"detail": "kameror.geojson: 2 invalid features\\n  ...", "code": "input_error",
     "problems": [{"source": "kameror.geojson", "index": 3, "reason": "duplicate id 'A1'"}]}

Refusals that are not domain errors carry a code too: ``unauthorized`` (401),
``forbidden`` (403), ``too_large`` (413), ``validation_error`` (a request FastAPI's
own checks refuse, 422, ``detail`` being its list of errors). Nothing else is caught:
an exception outside the tree is a bug and stays a 500 (the schemathesis test in
``tests/test_api_schema.py`` makes sure no input reaches one).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.service.errors import ParameterError, UnmetParameterError
from api.storage import StorageError
from geo.errors import (
    AnalysisError,
    CRSError,
    EmptyLayerError,
    InputError,
    NotFoundError,
    TryggkartaError,
)

__all__ = ["ERROR_STATUS", "HTTP_CODES", "RequestTooSlow", "status_for", "code_for",
           "error_body", "install_handlers"]


class RequestTooSlow(AnalysisError):
    """An analysis did not finish within ``TRYGGKARTA_REQUEST_TIMEOUT_S``."""


#: THE table of domain errors -> (HTTP status, stable code). The most specific class in
#: an error's MRO wins. (The CLI's exit codes: :data:`api.cli._common.EXIT_CODES`.)
ERROR_STATUS: Final[dict[type[BaseException], tuple[int, str]]] = {
    RequestTooSlow: (422, "time_limit"),
    UnmetParameterError: (422, "analysis_error"),
    ParameterError: (422, "parameter_error"),
    EmptyLayerError: (422, "empty_layer"),
    InputError: (422, "input_error"),
    CRSError: (422, "crs_error"),
    AnalysisError: (422, "analysis_error"),
    NotFoundError: (404, "not_found"),
    StorageError: (503, "storage_unavailable"),
    TryggkartaError: (400, "bad_request"),
}

#: Codes of refusals by status that are not domain errors.
HTTP_CODES: Final[dict[int, str]] = {400: "bad_request", 401: "unauthorized",
                                     403: "forbidden", 404: "not_found",
                                     405: "method_not_allowed", 413: "too_large",
                                     422: "validation_error"}


def _entry(exc: BaseException) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 400, "bad_request"


def status_for(exc: BaseException) -> int:
    """The status of a domain error (walking its class hierarchy).

    Examples
    --------
    >>> status_for(NotFoundError("db:x: no such dataset")), status_for(CRSError("bad"))
    (404, 422)
    """
    return _entry(exc)[0]


def code_for(exc: BaseException) -> str:
    """The stable ``code`` of a domain error.

    Examples
    --------
    >>> code_for(ParameterError("k", "give exactly one of {k} and {budget}"))
    'parameter_error'
    >>> code_for(InputError.single("a.csv", "missing time", 0))
    'input_error'
    """
    return _entry(exc)[1]


def error_body(exc: TryggkartaError) -> dict[str, Any]:
    """The JSON body of an error answer: ``detail``, ``code`` and ``problems``.

    Examples
    --------
    >>> error_body(InputError.single("a.csv", "missing time", 0))["problems"]
    [{'source': 'a.csv', 'index': 0, 'reason': 'missing time'}]
    """
    body: dict[str, Any] = {"detail": str(exc), "code": code_for(exc)}
    if isinstance(exc, InputError):
        body["problems"] = [
            {"source": p.source, "index": p.index, "reason": p.reason} for p in exc.problems
        ]
    if isinstance(exc, ParameterError):
        body["param"] = exc.param
    return body


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TryggkartaError)
    request.state.audit_error = str(exc).splitlines()[0][:300] if str(exc) else type(
        exc).__name__
    return JSONResponse(error_body(exc), status_code=status_for(exc))


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = {"detail": exc.detail, "code": HTTP_CODES.get(exc.status_code, "error")}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": jsonable_encoder(exc.errors()),
                         "code": "validation_error"}, status_code=422)


def install_handlers(app: FastAPI) -> None:
    """Register the handlers of every domain error and of HTTP refusals on ``app``."""
    app.add_exception_handler(TryggkartaError, _handle)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(RequestValidationError, _handle_validation)
