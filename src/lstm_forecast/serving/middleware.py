"""Pure ASGI middleware: the access log (latency, never bodies) and the body-size limit."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from .problems import MEDIA_TYPE

_SETTING = "LSTM_FORECAST_SERVE_MAX_BODY_BYTES"
access_log = logging.getLogger("lstm_forecast.serving.access")


class AccessLog:
    """One line per request: method, path, status, latency. Bodies and queries are never logged."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info(
                '%s "%s %s" %d %.2f ms',
                client[0],
                scope["method"],
                scope["path"],
                status[0],
                (time.perf_counter() - start) * 1000,
            )


class BodyLimit:
    """Refuses bodies above ``limit`` bytes with a 413 problem, declared or streamed."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        seen = [0]

        async def receiving() -> dict:
            message = await receive()
            seen[0] += len(message.get("body", b""))
            if seen[0] > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, receiving, send)
        except _TooLarge:
            await self._refuse(scope, send)

    async def _refuse(self, scope: dict, send: Any) -> None:
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Request too large",
                "status": 413,
                "detail": f"the body is over {self.limit} bytes ({_SETTING})",
                "instance": scope["path"],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
