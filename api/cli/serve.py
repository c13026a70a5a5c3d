"""``tryggkarta serve``: run the HTTP API with uvicorn."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

__all__ = ["app", "serve"]

app = typer.Typer()


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(
        help="Worker processes (each keeps its own result cache).", min=1, max=64)] = 1,
    log_level: Annotated[str, typer.Option(
        "--log-level", help="uvicorn log level: critical, error, warning, info, debug.")]
    = "info",
) -> None:
    """Run the HTTP API (OpenAPI at /docs; docs/api.md).

    Configuration comes from the environment: TRYGGKARTA_TOKENS_FILE (required for any
    route but /health and /docs), TRYGGKARTA_DATA_DIR or TRYGGKARTA_DATABASE_URL,
    TRYGGKARTA_MAX_UPLOAD_MB, TRYGGKARTA_REQUEST_TIMEOUT_S.
    """
    import uvicorn

    from api.cli._common import start_work

    start_work()  # a server runs for long: collect garbage
    if log_level not in ("critical", "error", "warning", "info", "debug"):
        raise typer.BadParameter(f"--log-level {log_level!r}: use critical, error, warning, "
                                 "info or debug")
    _check_address(host, port)
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1;
    # the API decides itself, from TRYGGKARTA_TRUSTED_PROXIES (api.http.middleware)
    uvicorn.run("api.http.app:app", host=host, port=port, workers=workers,
                log_level=log_level, proxy_headers=False)


def _check_address(host: str, port: int) -> None:
    """Refuse an address that does not resolve or a port already taken (exit 2), before
    uvicorn starts (which would log the error and exit 3)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise typer.BadParameter(f"--host {host!r}: not a host name or address that resolves "
                                 f"({getattr(exc, 'strerror', None) or exc})") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            raise typer.BadParameter(f"cannot listen on {host}:{port}: "
                                     f"{exc.strerror or exc}") from None
