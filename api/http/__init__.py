"""The HTTP API: the FastAPI app, its dependencies, middlewares, error table and routes.

Routes parse a request, call :mod:`api.service` and serialise the answer; nothing here
computes geometry. ``api.app:app`` (and :func:`api.http.app.create_app`) is the app.
"""
