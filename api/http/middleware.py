"""Pure ASGI middlewares: early refusal of writes, the upload size limit, the audit log.

:class:`WriteGate` refuses a write (any method but GET/HEAD/OPTIONS) without a known
planner token before a byte of its body is read (401 or 403, as the route's own check
would answer). :class:`BodyLimit` answers 413 when ``Content-Length`` announces more than the limit,
and also counts the bytes actually received (a chunked or lying client is stopped as
soon as it passes the limit). :class:`AuditTrail` appends one line per request to the
:class:`~api.http.audit.AuditLog` with the principal and details the routes put in
``request.state`` (``user``, ``audit``).
"""

from __future__ import annotations

import ipaddress
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.audit import AuditLog, FloodGate
from api.http.security import READ_METHODS, TokenTable
from geo.errors import TryggkartaError

__all__ = ["WriteGate", "BodyLimit", "AuditTrail", "UNAUDITED_PATHS"]

#: Paths that are neither protected nor logged.
UNAUDITED_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect",
                             "/redoc"})
#: The web interface's page and the prefix of its static files (no data, no token; GET
#: only, so they are left out of the audit log; a write to them still meets the gate).
WEB_PAGE, STATIC_PREFIX = "/", "/static/"


def _unaudited(path: str | None) -> bool:
    return path is not None and (path in UNAUDITED_PATHS or path == WEB_PAGE
                                 or path.startswith(STATIC_PREFIX))


class _TooLarge(Exception):
    pass


def _json(status: int, body: dict[str, Any],
          extra: list[tuple[bytes, bytes]] | None = None) -> tuple[Message, Message]:
    data = json.dumps(body).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                    (b"connection", b"close"), *(extra or [])],
    }
    return start, {"type": "http.response.body", "body": data}


class WriteGate:
    """Answer 401/403 to a write without a planner token before its body is read."""

    def __init__(self, app: ASGIApp, *, tokens: TokenTable) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope.get("method") in READ_METHODS
                or scope.get("path") in UNAUDITED_PATHS):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        header = ""
        for key, value in scope.get("headers", []):
            if key == b"authorization":
                header = value.decode("latin-1")
        scheme, _, token = header.partition(" ")
        principal = (self.tokens.lookup(token.strip())
                     if scheme.lower() == "bearer" and token.strip() else None)
        if principal is None:
            state["audit_error"] = "unknown token" if token.strip() else "no bearer token"
            start, body = _json(401, {"detail": "a bearer token is required (Authorization: "
                                      "Bearer TOKEN)" if not token.strip() else
                                      "unknown token", "code": "unauthorized"},
                                [(b"www-authenticate", b"Bearer")])
        elif not principal.can_write:
            state["user"] = principal
            state["audit_error"] = "forbidden for role " + principal.role
            start, body = _json(403, {"detail": f"the {principal.role} role may only read "
                                      "(GET); loading and changing data needs a planner "
                                      "token", "code": "forbidden"})
        else:
            await self.app(scope, receive, send)
            return
        await send(start)
        await send(body)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 (announced or counted)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> dict[str, Any]:
        mb = self.max_bytes / 1_000_000
        return {"detail": f"request body too large: the limit is {mb:g} MB "
                          "(TRYGGKARTA_MAX_UPLOAD_MB)", "code": "too_large"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    announced = -1
                if announced < 0 or announced > self.max_bytes:
                    state["audit_error"] = "request body too large"
                    start, body = _json(413 if announced >= 0 else 400, self._message()
                                        if announced >= 0 else
                                        {"detail": "bad Content-Length header",
                                         "code": "bad_request"})
                    await send(start)
                    await send(body)
                    return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app turned our exception into its own answer: replace it
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            state["audit_error"] = "request body too large"
            start, body = _json(413, self._message())
            await send(start)
            await send(body)


def parse_proxies(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``TRYGGKARTA_TRUSTED_PROXIES``: comma-separated addresses or networks.

    Examples
    --------
    >>> [str(n) for n in parse_proxies("10.0.0.5, 10.1.0.0/16")]
    ['10.0.0.5/32', '10.1.0.0/16']
    """
    from geo.errors import InputError

    nets = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise InputError.single("TRYGGKARTA_TRUSTED_PROXIES",
                                    f"{part!r} is not an address or network") from None
    return tuple(nets)


def client_address(peer: str | None, forwarded: str | None,
                   trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
                   ) -> str | None:
    """The client of a request: ``X-Forwarded-For`` is believed only from trusted proxies.

    Walking the header from the right (the hop nearest the server), the first address
    that is not a trusted proxy is the client; a request whose peer is not a trusted
    proxy is its own client, whatever the header says.

    Examples
    --------
    >>> proxies = parse_proxies("10.0.0.5")
    >>> client_address("10.0.0.5", "1.2.3.4, 203.0.113.7", proxies)
    '203.0.113.7'
    >>> client_address("198.51.100.1", "1.2.3.4", proxies)
    '198.51.100.1'
    """
    def is_trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in trusted)

    if peer is None or not forwarded or not is_trusted(peer):
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a forged or broken header: the proxy is what we know
    return peer


class AuditTrail:
    """Append one :class:`~api.http.audit.AuditLog` entry per request (except meta paths).

    Requests refused for want of a valid token go through a
    :class:`~api.http.audit.FloodGate`: per client, the first of a window is written,
    the rest become one summary entry.
    """

    def __init__(self, app: ASGIApp, *, log: AuditLog, trusted_proxies: str = "",
                 flood_window_s: float = 60.0) -> None:
        self.app = app
        self.log = log
        self.trusted = parse_proxies(trusted_proxies)
        self.gate = FloodGate(window_s=flood_window_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _unaudited(scope.get("path")):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        status = 500
        t0 = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            user = state.get("user")
            details: dict[str, Any] = state.get("audit") or {}
            query = scope.get("query_string", b"").decode("latin-1")
            peer = scope.get("client")
            forwarded = None
            for key, value in scope.get("headers", []):
                if key == b"x-forwarded-for":
                    forwarded = value.decode("latin-1")
            client = client_address(peer[0] if peer else None, forwarded, self.trusted)
            entry = {
                "user": getattr(user, "label", None),
                "role": getattr(user, "role", None),
                "method": scope.get("method"),
                "path": scope.get("path"),
                "action": details.get("action"),
                "datasets": details.get("datasets", {}),
                "params": details.get("params") or ({"query": query} if query else {}),
                "status": status,
                "duration_ms": round((time.perf_counter() - t0) * 1000, 1),
                "client": client,
                "error": state.get("audit_error"),
            }
            if "stored" in details:
                entry["stored"] = details["stored"]
            now = time.time()
            try:
                for summary in self.gate.admit_summaries(now=now):
                    self.log.record(summary)
                if user is not None or status != 401 or self.gate.admit(
                        client, scope.get("path"), now=now):
                    self.log.record(entry)
            except (OSError, TryggkartaError):  # pragma: no cover - a full disk or a
                # store that is down must not hide the answer
                import logging

                logging.getLogger("tryggkarta.api").exception("cannot write the audit log")
