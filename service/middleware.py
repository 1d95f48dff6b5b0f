"""Request ids, access logs, and the last line of defence: our own bugs become a logged, generic 500."""

import logging
import random
import re
import time

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logging import request_id_var

log = logging.getLogger("freqserve.http")

_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET = {"/healthz", "/readyz", "/metrics"}  # probes and scrapes log at DEBUG


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): the route runs in this task, so its logs see the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        # Not uuid4: its urandom syscall per request showed in profiles; ids need uniqueness, not secrecy.
        rid = given if _VALID_ID.match(given) else f"{random.getrandbits(128):032x}"
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", extra={"method": scope["method"], "path": scope["path"]})
            status = 500
            if not response_started:
                body = {"detail": f"internal server error (request id {rid})"}
                await JSONResponse(body, status_code=500, headers={"X-Request-ID": rid})(scope, receive, send)
        finally:
            path = scope["path"]
            log.log(
                logging.DEBUG if path in _QUIET and status < 500 else logging.INFO,
                "request",
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1e3, 3),
                },
            )
            request_id_var.reset(token)
