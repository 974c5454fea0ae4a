"""Cross-cutting behaviour of every request: ids and access logs, gzip, keys and rate limits,
body size.

Falcon runs process_request in list order and process_response in reverse, for every
middleware even when an earlier one raised, so the outermost ones (request id, access log,
gzip) see the final answer, errors included.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

import falcon

from api.body import MAX_BODY_BYTES, too_large
from api.errors import ApiError
from api.ratelimit import RateLimiter

access_log = logging.getLogger("connectra.api.access")

GZIP_MIN_BYTES = 1024
MAX_UPLOAD_BYTES = 1 << 30
UPLOAD_PREFIX = "/common/uploads/"
EXPORT_FILES_PREFIX = "/common/export-files/"  # api/exports.py FILES_PREFIX
PUBLIC_PATHS = frozenset({"/health"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def key_fingerprint(key: str) -> str:
    """What logs say instead of a key: enough to tell keys apart, useless to an attacker."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


class RequestLog:
    """Request ids (X-Request-Id echoed when sane, else generated) and one JSON access-log
    line per request. The line holds the key's fingerprint, never the key or the body."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        given = req.get_header("X-Request-Id")
        req.context.request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        req.context.started = time.perf_counter()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        request_id = getattr(req.context, "request_id", None) or uuid.uuid4().hex
        resp.set_header("X-Request-Id", request_id)
        started = getattr(req.context, "started", time.perf_counter())
        access_log.info(
            json.dumps(
                {
                    "method": req.method,
                    "path": req.path,
                    "status": resp.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "request_id": request_id,
                    "key": getattr(req.context, "key_fingerprint", None),
                    "remote": req.remote_addr,
                },
                separators=(",", ":"),
            )
        )


class KeyRing:
    """The accepted API keys. Comparison runs over SHA-256 digests with
    hmac.compare_digest against every key (no early exit), so neither the time taken nor
    the length of a near miss tells anything about a key."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = [(hashlib.sha256(k.encode()).digest(), k) for k in keys if k]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def match(self, presented: str | None) -> str | None:
        """The fingerprint of the matching key, or None."""
        if not presented:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: str | None = None
        for known, key in self._digests:
            if hmac.compare_digest(digest, known):
                found = key
        return key_fingerprint(found) if found is not None else None


class AccessControl:
    """X-API-Key on everything but /health (and the signed upload PUT, and CORS preflights),
    then one token from the caller's bucket: a key's own bucket, or the client address's for
    requests without a valid key (so guessing keys is throttled too). Every answer carries
    the bucket's X-RateLimit-Limit and X-RateLimit-Remaining."""

    def __init__(self, keys: KeyRing, limiter: RateLimiter) -> None:
        self.keys = keys
        self.limiter = limiter

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        fingerprint = self.keys.match(req.get_header("X-API-Key"))
        req.context.key_fingerprint = fingerprint
        caller = f"key:{fingerprint}" if fingerprint else f"addr:{req.remote_addr}"
        decision = self.limiter.take(caller)
        req.context.rate = decision
        if not decision.allowed:
            raise ApiError(
                429,
                "rate_limited",
                f"more than {decision.limit} requests per minute; retry after "
                f"{decision.retry_after} s",
                headers={"Retry-After": str(decision.retry_after)},
            )
        if fingerprint is None and not _is_public(req):
            raise ApiError(401, "unauthorized", "a valid X-API-Key header is required")

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        decision = getattr(req.context, "rate", None)
        if decision is not None:
            resp.set_header("X-RateLimit-Limit", str(decision.limit))
            resp.set_header("X-RateLimit-Remaining", str(decision.remaining))


def _is_public(req: falcon.Request) -> bool:
    if req.path in PUBLIC_PATHS:
        return True
    if req.method == "OPTIONS" and req.get_header("Access-Control-Request-Method"):
        return True  # a CORS preflight never carries credentials
    # The embedded upload PUT and export download GET are authorized by their URL's
    # signature, like S3 presigned URLs.
    if req.method == "GET" and req.path.startswith(EXPORT_FILES_PREFIX):
        return True
    return req.method == "PUT" and req.path.startswith(UPLOAD_PREFIX)


class BodyLimit:
    """413 for a declared body over the cap, before any byte is read (the readers cap what
    they read as well, for bodies sent without a length)."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = MAX_UPLOAD_BYTES if req.path.startswith(UPLOAD_PREFIX) else MAX_BODY_BYTES
        length = req.content_length
        if length is not None and length > limit:
            raise too_large(limit)


class Compression:
    """gzip for clients that accept it, when the body is big enough to gain from it."""

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        if resp.stream is not None or resp.get_header("Content-Encoding"):
            return
        body = resp.render_body()
        if not body or len(body) < GZIP_MIN_BYTES:
            return
        resp.append_header("Vary", "Accept-Encoding")
        if req.method == "HEAD" or not accepts_gzip(req.get_header("Accept-Encoding")):
            return
        resp.text = None
        resp.data = gzip.compress(body, compresslevel=5)
        resp.set_header("Content-Encoding", "gzip")


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (q > 0 for gzip, or for * when gzip is
    not named)."""
    if not header:
        return False
    star: float | None = None
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            k, _, v = param.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        name = name.strip().lower()
        if name in {"gzip", "x-gzip"}:
            return q > 0
        if name == "*":
            star = q
    return star is not None and star > 0
