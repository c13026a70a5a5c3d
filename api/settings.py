"""The one settings class of tryggkarta, read from ``TRYGGKARTA_*`` environment variables.

``geo`` never reads settings; ``api`` (storage, HTTP, CLI) calls :func:`get_settings`
and passes explicit values on.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.errors import InputError, Problem

__all__ = ["Settings", "get_settings", "sdc_secret", "SDC_KEY_FILE"]

#: Name of the disclosure-control key file made in ``data_dir`` on first use.
SDC_KEY_FILE = "sdc_secret.key"


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
    sdc_secret : SecretStr or None
        The deployment's disclosure-control secret (at least 16 bytes) from which every
        incident's record key is made (see ``docs/disclosure.md``); when unset, a key
        file ``sdc_secret.key`` is made in ``data_dir`` on first use (mode 0600).
    max_rows : int
        Most features one upload may hold (default 2,000,000); counted from the file's
        metadata where it has one, before it is read.
    max_unpacked_mb : float or None
        Most megabytes a gzip upload may unpack to (default 10 × ``max_upload_mb``);
        unpacking is streamed and stops there.
    worker_processes : int
        Worker processes per server process that run reads, validation, writes and
        analyses, each killed at ``request_timeout_s`` (default 2).
    trusted_proxies : str
        Comma-separated addresses or networks (``10.0.0.5,10.1.0.0/16``) of reverse
        proxies whose ``X-Forwarded-For`` is believed; from anyone else it is ignored
        (default: none).
    audit_entry_max_bytes : int
        Largest audit entry (default 4096 bytes); longer parameter values are cut.
    audit_flood_window_s : float
        Requests refused for want of a valid token are counted per client and written
        as one summary entry per this many seconds (default 60), not one entry each.

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
    sdc_secret: SecretStr | None = None
    max_rows: Annotated[int, Field(ge=1)] = 2_000_000
    max_unpacked_mb: Annotated[float | None, Field(gt=0)] = None
    worker_processes: Annotated[int, Field(ge=1, le=64)] = 2
    trusted_proxies: str = ""
    audit_entry_max_bytes: Annotated[int, Field(ge=512)] = 4096
    audit_flood_window_s: Annotated[float, Field(gt=0)] = 60.0

    @property
    def max_unpacked_bytes(self) -> int:
        """``max_unpacked_mb`` in bytes (default 10 × the upload limit)."""
        mb = self.max_unpacked_mb if self.max_unpacked_mb is not None else (
            10 * self.max_upload_mb)
        return int(mb * 1_000_000)

    @field_validator("database_url", "tokens_file", "sdc_secret", "max_unpacked_mb",
                     mode="before")
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
            shown = ("" if field in ("database_url", "sdc_secret")
                     else f" (got {e.get('input')!r})")
            problems.append(Problem(f"TRYGGKARTA_{field.upper()}", None, f"{e['msg']}{shown}"))
        raise InputError(problems, summary=None if len(problems) == 1 else
                         "invalid TRYGGKARTA_* settings in the environment") from None


def sdc_secret(settings: Settings) -> bytes:
    """The disclosure-control secret: ``TRYGGKARTA_SDC_SECRET``, or the data folder's key file.

    Without the setting, ``data_dir/sdc_secret.key`` is read, or made on first use (32
    random bytes, hex, mode 0600, created exclusively so two processes agree). Keep it:
    a new secret gives every incident a new record key, so figures published before and
    after no longer match, and differencing them becomes possible.

    Raises
    ------
    InputError
        The setting or the key file is shorter than 16 bytes or cannot be read or made
        (the message names it, never its content).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> a = sdc_secret(Settings(data_dir=d, sdc_secret=None))
    >>> b = sdc_secret(Settings(data_dir=d, sdc_secret=None))
    >>> a == b, len(a), oct((Path(d) / SDC_KEY_FILE).stat().st_mode & 0o777)
    (True, 64, '0o600')
    >>> sdc_secret(Settings(data_dir=d, sdc_secret="x" * 16))
    b'xxxxxxxxxxxxxxxx'
    """
    if settings.sdc_secret is not None:
        value = settings.sdc_secret.get_secret_value().encode("utf-8")
        if len(value) < 16:
            raise InputError.single("TRYGGKARTA_SDC_SECRET",
                                    f"must be at least 16 bytes, got {len(value)}")
        return value
    path = Path(settings.data_dir) / SDC_KEY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # write a whole file aside, then link it in place: exclusive and atomic
            tmp = path.with_name(f".{SDC_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        value = path.read_bytes().strip()
    except OSError as exc:
        raise InputError.single(str(path), f"cannot read or make the disclosure-control "
                                f"key file: {exc.strerror or exc}") from None
    if len(value) < 16:
        raise InputError.single(str(path), f"the disclosure-control key file must hold at "
                                f"least 16 bytes, got {len(value)}")
    return value
