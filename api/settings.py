"""The one settings class of tryggkarta, read from ``TRYGGKARTA_*`` environment variables.

``geo`` never reads settings; ``api`` (storage, HTTP, CLI) calls :func:`get_settings`
and passes explicit values on.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.errors import InputError, Problem

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Configuration of the storage backend and the HTTP API.

    Every field can be set with an environment variable ``TRYGGKARTA_<FIELD>``
    (case-insensitive), e.g. ``TRYGGKARTA_DATA_DIR=/srv/tryggkarta``.

    Attributes
    ----------
    data_dir : Path
        Folder of the embedded GeoPackage store (default ``./var``).
    database_url : str or None
        ``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB``; when set, datasets are
        stored in PostGIS instead of ``data_dir``. An empty value means unset.
    tokens_file : Path or None
        File of lines ``ROLE SHA256_HEX_OF_TOKEN [LABEL]`` for the HTTP API.
    max_upload_mb : float
        Largest request body the API accepts, in megabytes (default 50).
    request_timeout_s : float
        Time limit of one API request, in seconds (default 60).

    Examples
    --------
    >>> s = Settings(data_dir="/tmp/tk", database_url="")
    >>> s.data_dir.name, s.database_url, s.max_upload_mb
    ('tk', None, 50.0)
    """

    model_config = SettingsConfigDict(env_prefix="TRYGGKARTA_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    tokens_file: Path | None = None
    max_upload_mb: float = 50.0
    request_timeout_s: float = 60.0

    @field_validator("database_url", "tokens_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value


def get_settings() -> Settings:
    """Read the settings from the environment now (not cached).

    Examples
    --------
    >>> isinstance(get_settings(), Settings)
    True

    Raises
    ------
    InputError
        A variable cannot be read (e.g. ``TRYGGKARTA_MAX_UPLOAD_MB=abc``); the message
        names it (and never echoes the database URL, which may hold a password).
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            field = "_".join(str(part) for part in e["loc"])
            shown = "" if field == "database_url" else f" (got {e.get('input')!r})"
            problems.append(Problem(f"TRYGGKARTA_{field.upper()}", None, f"{e['msg']}{shown}"))
        raise InputError(problems, summary=None if len(problems) == 1 else
                         "invalid TRYGGKARTA_* settings in the environment") from None
