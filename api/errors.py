"""Every failure leaves the API in one JSON shape, mapped here and nowhere else.

    {"error": {"code": "invalid_vql", "message": "...", "details": [{"path", "message"}]}}

Domain errors (VQL, stores, landing zone) are translated to HTTP by the handlers that
:func:`install_error_handlers` registers; Falcon's own errors (unknown route, wrong method)
and the ones middleware raises go through :func:`serialize_error`. A client never sees a
stack trace or a driver's message: unexpected exceptions are logged with the request id and
answered with a generic 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import falcon

from stores.errors import (
    BackendMisconfigured,
    IndexMissing,
    StoreError,
    StoreTimeout,
    TerminalStoreError,
    TransientStoreError,
)
from stores.landing import FileMissing
from vql.errors import VQLError

log = logging.getLogger("connectra.api")

# Default codes of statuses raised without an ApiError (Falcon's routing, middleware).
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "backend_unavailable",
    504: "backend_timeout",
}
INDEX_MISSING_RETRY_SECONDS = "30"
GENERIC_500 = "internal error; the request id in X-Request-Id identifies it in the server's logs"


class ApiError(falcon.HTTPError):
    """An HTTP error carrying the API's error code and optional pointer details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, title=code, description=message, headers=headers)
        self.api_code = code
        self.message = message
        self.details = details or []


def error_body(code: str, message: str, details: list[dict[str, str]] | None = None) -> bytes:
    return json.dumps(
        {"error": {"code": code, "message": message, "details": details or []}},
        ensure_ascii=False,
    ).encode("utf-8")


def serialize_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon's error serializer: every HTTPError rendered in the API's shape, as JSON."""
    status = exc.status_code
    if isinstance(exc, ApiError):
        code, message, details = exc.api_code, exc.message, exc.details
    else:
        code = STATUS_CODES.get(status, "error")
        message = exc.description or _default_message(req, exc)
        details = []
    resp.data = error_body(code, message, details)
    resp.content_type = falcon.MEDIA_JSON


def _default_message(req: falcon.Request, exc: falcon.HTTPError) -> str:
    status = exc.status_code
    if status == 404:
        return f"no such resource: {req.method} {req.path}"
    if status == 405:
        allowed = dict(exc.headers or {}).get("Allow", "")
        return f"method {req.method} is not allowed on {req.path}; allowed: {allowed}"
    return str(exc.title or "error")


def request_id(req: falcon.Request) -> str:
    return str(getattr(req.context, "request_id", "-"))


# -- handlers for domain errors ---------------------------------------------------------------


def handle_vql(req: falcon.Request, resp: falcon.Response, exc: VQLError, params: Any) -> None:
    raise ApiError(400, "invalid_vql", str(exc), exc.details())


def handle_file_missing(
    req: falcon.Request, resp: falcon.Response, exc: FileMissing, params: Any
) -> None:
    raise ApiError(404, "not_found", "no such file in the landing zone")


def handle_transient(
    req: falcon.Request, resp: falcon.Response, exc: TransientStoreError, params: Any
) -> None:
    log.warning(
        "backend unavailable: %s", exc, extra={"request_id": request_id(req)}
    )
    if isinstance(exc, StoreTimeout):
        raise ApiError(504, "backend_timeout", f"the {exc.backend} backend did not answer in time")
    raise ApiError(
        503,
        "backend_unavailable",
        f"the {exc.backend} backend is unavailable; try again later",
        headers={"Retry-After": "5"},
    )


def handle_index_missing(
    req: falcon.Request, resp: falcon.Response, exc: IndexMissing, params: Any
) -> None:
    log.warning("search index missing: %s", exc, extra={"request_id": request_id(req)})
    raise ApiError(
        503,
        "index_missing",
        "the search index is missing (the search engine lost it, or it was never created); "
        "the search_drift_sensor rebuilds it from the records by itself (or run `connectra "
        "reindex`); try again later",
        headers={"Retry-After": INDEX_MISSING_RETRY_SECONDS},
    )


def handle_misconfigured(
    req: falcon.Request, resp: falcon.Response, exc: BackendMisconfigured, params: Any
) -> None:
    log.error("backend misconfigured: %s", exc, extra={"request_id": request_id(req)})
    raise ApiError(
        503,
        "backend_misconfigured",
        f"the {exc.backend} backend refuses Connectra's requests (credentials, permissions, or "
        "a missing database, bucket or table); its operator must fix the configuration",
    )


def handle_store_error(
    req: falcon.Request, resp: falcon.Response, exc: StoreError, params: Any
) -> None:
    log.error(
        "store error (request %s): %s", request_id(req), exc, exc_info=exc,
        extra={"request_id": request_id(req)},
    )
    raise ApiError(500, "internal_error", GENERIC_500)


def handle_unexpected(
    req: falcon.Request, resp: falcon.Response, exc: Exception, params: Any
) -> None:
    log.error(
        "unexpected error (request %s) on %s %s", request_id(req), req.method, req.path,
        exc_info=exc, extra={"request_id": request_id(req)},
    )
    raise ApiError(500, "internal_error", GENERIC_500)


def install_error_handlers(app: falcon.App) -> None:
    """Registers the one mapping; Falcon picks the most specific class of an exception."""
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(VQLError, handle_vql)
    app.add_error_handler(StoreError, handle_store_error)
    app.add_error_handler(TerminalStoreError, handle_store_error)
    app.add_error_handler(TransientStoreError, handle_transient)
    app.add_error_handler(IndexMissing, handle_index_missing)
    app.add_error_handler(BackendMisconfigured, handle_misconfigured)
    app.add_error_handler(FileMissing, handle_file_missing)
