"""Errors as ``application/problem+json`` (RFC 9457) with a stable ``type`` per error.

Every error the API can answer, including FastAPI's own 404/405/422 and Starlette's, goes
through these handlers, so clients parse one shape.
"""

from __future__ import annotations

import logging
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud_api import exceptions as exc

__all__ = ["PROBLEM_BASE", "install_problem_handlers", "problem_response"]

logger = logging.getLogger(__name__)

PROBLEM_BASE: Final = "https://aftercare.example/problems/"
MEDIA_TYPE: Final = "application/problem+json"

# Domain exception → (status, type slug, title). Most specific classes first.
_DOMAIN: Final[list[tuple[type[exc.CloudError], int, str, str]]] = [
    (exc.TicketNotFound, 404, "ticket-not-found", "Ticket not found"),
    (exc.NotFound, 404, "not-found", "Not found"),
    (exc.Forbidden, 403, "forbidden", "Forbidden"),
    (exc.InvalidTransition, 409, "invalid-transition", "Event not allowed in this state"),
    (
        exc.IdempotencyInProgress,
        409,
        "idempotency-in-progress",
        "Request with this key in progress",
    ),
    (exc.ReservationConflict, 409, "reservation-conflict", "Reservation conflict"),
    (exc.DuplicateEntity, 409, "duplicate", "Already exists"),
    (exc.Conflict, 409, "conflict", "Conflict"),
    (
        exc.IdempotencyKeyReused,
        422,
        "idempotency-key-reused",
        "Idempotency-Key reused with another body",
    ),
    (exc.InvalidRequest, 422, "invalid-request", "Invalid request"),
    (exc.CloudError, 400, "bad-request", "Bad request"),
]
_HTTP: Final[dict[int, str]] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    503: "unavailable",
}


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def _domain(_request: Request, error: Exception) -> JSONResponse:
    for klass, status, slug, title in _DOMAIN:
        if isinstance(error, klass):
            return problem_response(status, slug, title, getattr(error, "detail", str(error)))
    raise error  # pragma: no cover — only CloudError is registered here


async def _http(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)  # noqa: S101 — registered for it
    slug = _HTTP.get(error.status_code, f"http-{error.status_code}")
    title = slug.replace("-", " ").capitalize()
    detail = str(error.detail) if error.detail else title
    return problem_response(
        error.status_code, slug, title, detail, headers=dict(error.headers or {})
    )


async def _validation(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101 — registered for it
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in error.errors()
    ]
    return problem_response(
        422,
        "validation-error",
        "Request validation failed",
        "the request body or parameters are invalid",
        errors=errors,
    )


async def _busy(_request: Request, error: Exception) -> JSONResponse:
    # A locked SQLite database or a lost PostgreSQL connection: the client should retry.
    logger.warning("database unavailable: %s", error)
    return problem_response(
        503, "unavailable", "Database busy", "try again shortly", headers={"Retry-After": "1"}
    )


async def _bad_data(_request: Request, error: Exception) -> JSONResponse:
    # Values the database cannot store (NUL characters in PostgreSQL text, out-of-range
    # numbers) are the client's error, whatever validation let through.
    logger.info("database refused a value: %s", getattr(error, "orig", error))
    return problem_response(422, "invalid-data", "Value not storable", "a value cannot be stored")


def install_problem_handlers(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(exc.CloudError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(OperationalError, _busy)
    app.add_exception_handler(DataError, _bad_data)
