"""RFC 9457 problem details: every refusal is a JSON object naming what is wrong and where."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"
MAX_LISTED = 20  # errors listed in one answer; the count says how many there were


class Problem(Exception):
    """A refusal: HTTP status, a short title, the detail, and per-field errors."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.errors = errors or []
        self.extra = extra

    def body(self, instance: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.errors:
            body["errors"] = self.errors[:MAX_LISTED]
            body["error_count"] = len(self.errors)
        return body | self.extra


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return JSONResponse(
        problem.body(request.url.path), problem.status, headers=headers, media_type=MEDIA_TYPE
    )


def pointer_of(location: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    """A JSON pointer and a readable field name from pydantic's error location."""
    parts = [str(p) for p in location if p != "body"]
    readable = ""
    for part in parts:
        readable += f"[{part}]" if part.isdigit() else (f".{part}" if readable else part)
    return "/" + "/".join(parts), readable or "body"


async def on_problem(request: Request, problem: Problem) -> JSONResponse:
    return problem_response(problem, request)


async def on_invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """pydantic's refusals of the body or query, as problem details (never a traceback)."""
    errors = []
    for item in error.errors():
        pointer, field = pointer_of(item.get("loc", ()))
        entry = {"pointer": pointer, "field": field, "problem": item.get("msg", "invalid")}
        bar = _bar_of(item.get("loc", ()))
        if bar is not None:
            entry["bar"] = bar
        errors.append(entry)
    first = errors[0] if errors else {"field": "body", "problem": "invalid"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    problem = Problem(422, "Invalid request", f"{first['field']}: {first['problem']}{more}", errors)
    return problem_response(problem, request)


async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    """404, 405, ... from routing, in the same shape."""
    problem = Problem(error.status_code, _TITLES.get(error.status_code, "Error"), str(error.detail))
    return problem_response(problem, request)


def _bar_of(location: tuple[Any, ...] | list[Any]) -> int | None:
    parts = list(location)
    for index, part in enumerate(parts[:-1]):
        if part == "candles" and isinstance(parts[index + 1], int):
            return parts[index + 1]
    return None


_TITLES = {404: "Not found", 405: "Method not allowed", 413: "Request too large"}
