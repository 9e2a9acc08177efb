"""Domain errors and their single translation into RFC 9457 problem+json responses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"

log = structlog.get_logger(__name__)


class FieldError(dict[str, Any]):
    """One ``errors[]`` member: where (``loc``) and what is wrong (``msg``)."""

    def __init__(self, loc: Sequence[str | int], msg: str) -> None:
        super().__init__(loc=list(loc), msg=msg)


class DomainError(Exception):
    """Base of every error a request can cause; maps to one problem type."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}
        # RFC 9457 extension members (e.g. ``accepted`` of a 415), beside the standard ones.
        self.extensions = dict(extensions or {})


class AuthenticationError(DomainError):
    status, slug, title = 401, "unauthenticated", "Authentication required"

    def __init__(self, detail: str = "missing, invalid or expired credentials") -> None:
        # RFC 6750 §3: tell the client which scheme to use, never why a token failed.
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="astroshield"'})


class ForbiddenError(DomainError):
    status, slug, title = 403, "forbidden", "Not permitted"


class RateLimitedError(DomainError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class NotFoundError(DomainError):
    status, slug, title = 404, "not-found", "Resource not found"


class ConflictError(DomainError):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class InvalidInputError(DomainError):
    status, slug, title = 422, "validation-error", "Request validation failed"


class UnsupportedMediaTypeError(DomainError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class PayloadTooLargeError(DomainError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class ServiceUnavailableError(DomainError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


def problem_body(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str,
    errors: Sequence[dict[str, Any]] = (),
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        **(extensions or {}),
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = list(errors)
    return body


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body = problem_body(
        status=status,
        slug=slug,
        title=title,
        detail=detail,
        instance=request.url.path,
        errors=errors,
        extensions=extensions,
    )
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = [part for part in err.get("loc", ()) if isinstance(part, str | int)]
        kind = err.get("type", "")
        msg = str(err.get("msg", "invalid value"))
        if kind == "extra_forbidden":
            msg = "unknown field"
        elif kind == "json_invalid":
            ctx = err.get("ctx") or {}
            msg = f"malformed JSON: {ctx.get('error', 'cannot be parsed')}"
        elif kind == "missing":
            msg = "field required"
        # The offending input is left out on purpose: it may be a password or PII.
        errors.append(dict(FieldError(loc, msg)))
    return errors


async def _handle_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(
        request,
        status=exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    return problem_response(
        request,
        status=422,
        slug=InvalidInputError.slug,
        title=InvalidInputError.title,
        detail=f"{len(errors)} invalid field(s): {fields}",
        errors=errors,
    )


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    slug = phrase.lower().replace(" ", "-").replace("'", "")
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    return problem_response(
        request,
        status=exc.status_code,
        slug=slug,
        title=phrase,
        detail=detail,
        headers=dict(exc.headers or {}),
    )


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if driver_connection_lost(exc):
        return _database_unavailable_response(request, exc)
    log.error("unhandled_exception", path=request.url.path, exc_info=exc)
    return problem_response(
        request,
        status=500,
        slug="internal-error",
        title="Internal server error",
        detail="The server failed to process the request; it has been logged.",
    )


class ProblemFieldError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error answer. Some carry extension
    members too: ``accepted`` (415: the media types the operation reads),
    ``catalog_numbers`` (a CDM none of whose objects is one of your spacecraft)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemFieldError] = []


_SCHEMA_REF = "#/components/schemas/"
# FastAPI's own 422 body, which this API never sends.
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _is_error_status(code: str) -> bool:
    return code[:1] in {"4", "5"} or code == "default"


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Declare what the handlers above answer: every error of every operation is
    problem+json (``4XX`` for the ones an operation does not list), never FastAPI's JSON 422."""
    problem = {PROBLEM_JSON: {"schema": {"$ref": _SCHEMA_REF + "Problem"}}}
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                if _is_error_status(str(code)):
                    response["content"] = problem
            responses.setdefault(
                "4XX",
                {"description": "refused: problem+json naming what is wrong", "content": problem},
            )
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    for name, model in (("Problem", Problem), ("ProblemFieldError", ProblemFieldError)):
        schemas[name] = model.model_json_schema(ref_template=_SCHEMA_REF + "{model}")
        schemas[name].pop("$defs", None)
    return openapi


# SQLSTATE classes of a database that cannot serve now: connection exception, insufficient
# resources (e.g. too many clients), operator intervention (shutting down, starting up).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")


def database_unavailable(exc: DBAPIError) -> bool:
    """The database refused or lost the connection: nothing in the request was wrong."""
    code = getattr(exc.orig, "sqlstate", None)
    return (
        exc.connection_invalidated
        or isinstance(exc.orig, OSError)
        or (isinstance(code, str) and code.startswith(_UNAVAILABLE_SQLSTATES))
    )


# asyncpg's own errors of a connection that broke mid-operation (killed, closed, left in
# the middle of a COPY). Exact names: asyncpg's DataError, a bad value, subclasses these.
_DRIVER_CONNECTION_ERRORS = ("InterfaceError", "InternalClientError", "ConnectionDoesNotExistError")


def _driver_error_classes() -> tuple[type[Exception], ...]:
    """asyncpg's base errors when it is installed (the ``pg`` extra)."""
    try:
        from asyncpg import exceptions  # type: ignore[import-untyped]
    except ImportError:
        return ()
    return (exceptions.PostgresError, exceptions.InterfaceError, exceptions.InternalClientError)


def driver_connection_lost(exc: BaseException) -> bool:
    """A connection the request needed broke, not the request: the socket's own error (a
    new database connection reset during its handshake surfaces raw from the pool), or a
    database driver's error that reached us without SQLAlchemy (the telemetry COPY talks to
    asyncpg directly)."""
    if isinstance(exc, ConnectionError):
        return True
    if not type(exc).__module__.startswith("asyncpg."):
        return False
    code = getattr(exc, "sqlstate", None)
    if isinstance(code, str):
        return code.startswith(_UNAVAILABLE_SQLSTATES)
    return type(exc).__name__ in _DRIVER_CONNECTION_ERRORS


async def _handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if not database_unavailable(exc):
        return await _handle_unexpected(request, exc)
    return _database_unavailable_response(request, exc.orig)


def _database_unavailable_response(request: Request, error: BaseException | None) -> JSONResponse:
    log.warning("database_unavailable", path=request.url.path, error=str(error))
    return problem_response(
        request,
        status=503,
        slug=ServiceUnavailableError.slug,
        title=ServiceUnavailableError.title,
        detail="the database is not accepting requests now; nothing was saved, retry later",
        headers={"Retry-After": "1"},
    )


async def _handle_timeout(request: Request, exc: Exception) -> JSONResponse:
    """A dependency that did not answer in time (the pool had no connection to give, the
    database did not accept one): the request was fine, the service cannot serve it now."""
    log.warning("dependency_timeout", path=request.url.path, error=type(exc).__name__)
    return problem_response(
        request,
        status=503,
        slug=ServiceUnavailableError.slug,
        title=ServiceUnavailableError.title,
        detail="a service this request needs did not answer in time; nothing was saved, "
        "retry later",
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _handle_domain_error)
    app.add_exception_handler(DBAPIError, _handle_database_error)
    # The pool's own timeout (no connection free) and asyncio's (a connect or ping that
    # got no answer) are not DBAPIErrors.
    app.add_exception_handler(SQLAlchemyTimeoutError, _handle_timeout)
    app.add_exception_handler(TimeoutError, _handle_timeout)
    # Handled here rather than by the catch-all, which answers and then re-raises to the
    # server (uvicorn then drops the keep-alive connection under the client's next request).
    lost_connection: tuple[type[Exception], ...] = (ConnectionError, *_driver_error_classes())
    for lost in lost_connection:
        app.add_exception_handler(lost, _handle_unexpected)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(Exception, _handle_unexpected)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


async def send_problem(
    send: Send,
    scope: Scope,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    errors: Sequence[dict[str, Any]] = (),
    extensions: Mapping[str, Any] | None = None,
) -> None:
    body = orjson.dumps(
        problem_body(
            status=status,
            slug=slug,
            title=title,
            detail=detail,
            instance=scope["path"],
            errors=errors,
            extensions=extensions,
        )
    )
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers = dict(headers or {})
    if status == 503:  # every 503 says when to try again (RFC 9110 §10.2.3)
        headers.setdefault("Retry-After", "1")
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
