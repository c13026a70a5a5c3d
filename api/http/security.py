"""Bearer tokens and roles of the HTTP API.

Tokens never appear in the code or the configuration: ``TRYGGKARTA_TOKENS_FILE`` names a
file of lines ``ROLE SHA256_HEX_OF_TOKEN [LABEL]`` (``#`` starts a comment)::

    # role     sha256 of the token                                               label
    planner    9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  anna.planner
    reviewer   60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752  polisen.nord

Make a token and its line with ``python -c "import secrets; print(secrets.token_urlsafe(32))"``
and ``printf %s TOKEN | sha256sum``. The file is re-read when it changes (no restart
needed to add or revoke a token). A presented token is hashed and compared with every
line in constant time.

Roles: ``planner`` loads data and runs analyses; ``reviewer`` reads datasets, results
and maps, so every non-GET route answers a reviewer 403.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from geo.errors import TryggkartaError

__all__ = [
    "ROLES",
    "READ_METHODS",
    "Principal",
    "TokenFileError",
    "TokenTable",
    "parse_tokens",
    "hash_token",
]

log = logging.getLogger("tryggkarta.api")

#: The roles a token may have.
ROLES: Final = ("planner", "reviewer")
#: Methods a reviewer may use.
READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class TokenFileError(TryggkartaError):
    """The tokens file is missing, unreadable or has a bad line."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who sent a request: the token's role and label (never the token itself)."""

    role: str
    label: str

    @property
    def can_write(self) -> bool:
        """Whether this principal may use non-GET routes."""
        return self.role == "planner"


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token, as written in the tokens file.

    Examples
    --------
    >>> hash_token("test")
    '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_tokens(text: str, *, source: str = "tokens file") -> list[tuple[bytes, Principal]]:
    """Parse the lines of a tokens file into ``(digest bytes, Principal)`` pairs.

    Raises
    ------
    TokenFileError
        Naming every bad line (unknown role, not a 64-digit hex hash, missing hash).

    Examples
    --------
    >>> [p for _, p in parse_tokens("planner " + "a" * 64 + " anna\\n# comment\\n")]
    [Principal(role='planner', label='anna')]
    """
    entries: list[tuple[bytes, Principal]] = []
    bad: list[str] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 2:
            bad.append(f"line {n}: expected 'ROLE SHA256_HEX [LABEL]'")
            continue
        role, digest = parts[0].lower(), parts[1]
        if role not in ROLES:
            bad.append(f"line {n}: unknown role {parts[0]!r}; use {' or '.join(ROLES)}")
            continue
        if not _HEX.match(digest):
            bad.append(f"line {n}: the second field must be the 64 hex digits of the token's "
                       "SHA-256 (never the token itself)")
            continue
        label = parts[2].strip() if len(parts) > 2 else f"{role}:{digest[:8].lower()}"
        entries.append((bytes.fromhex(digest), Principal(role, label)))
    if bad:
        raise TokenFileError(f"{source}: " + "; ".join(bad))
    return entries


class TokenTable:
    """The tokens of a file, re-parsed whenever the file's content changes.

    The file is read on every lookup (it is small) and compared by content (a SHA-256
    of its bytes), not by size or time: a token revoked by an edit that keeps the size
    and the modification time is refused at once.

    Without a file (``path`` None) no token is valid: every protected route answers 401.
    A file that becomes unreadable or broken also makes every token invalid (fail
    closed) and is logged.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tokens"
    >>> _ = f.write_text(f"reviewer {hash_token('s3cret')} polisen\\n")
    >>> table = TokenTable(f)
    >>> table.lookup("s3cret"), table.lookup("wrong")
    (Principal(role='reviewer', label='polisen'), None)
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: bytes | None = None
        self._entries: list[tuple[bytes, Principal]] = []

    def check(self) -> int:
        """Read the file now; raise :class:`TokenFileError` when it is unusable.

        Returns the number of tokens.
        """
        if self.path is None:
            return 0
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenFileError(f"{self.path}: cannot read the tokens file: "
                                 f"{exc.strerror or exc}") from exc
        return len(parse_tokens(text, source=str(self.path)))

    def _current(self) -> list[tuple[bytes, Principal]]:
        if self.path is None:
            return []
        with self._lock:
            try:
                raw = self.path.read_bytes()
                stamp = hashlib.sha256(raw).digest()
                if stamp != self._stamp:
                    self._entries = parse_tokens(raw.decode("utf-8"), source=str(self.path))
                    self._stamp = stamp
            except (OSError, TokenFileError, UnicodeDecodeError) as exc:
                log.error("tokens file unusable, every token refused: %s", exc)
                self._entries, self._stamp = [], None
            return self._entries

    def lookup(self, token: str) -> Principal | None:
        """The principal of ``token``, or None; compares with every entry in constant time."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found: Principal | None = None
        for known, principal in self._current():
            if hmac.compare_digest(known, digest) and found is None:
                found = principal
        return found
