"""``tryggkarta serve``: run the HTTP API with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli._app import app

__all__ = ["serve"]


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
) -> None:
    """Run the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    uvicorn.run("api.app:app", host=host, port=port, log_level="info")
