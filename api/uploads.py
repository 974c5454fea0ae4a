"""GET /common/upload-url and, on the embedded profile, PUT /common/uploads/{key}.

The client never picks the key: it is generated under uploads/ by stores.landing.upload_key
from a sanitized file name. In S3 the URL is a presigned PUT for that one object key. On the
embedded profile the URL points at this API's own PUT endpoint and carries an expiry and an
HMAC of method, key and expiry under the deployment's signing key, so the endpoint writes
only keys it handed out, only until they expire; the landing sensor picks the file up by
itself in both cases.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, cast
from urllib.parse import quote

import falcon

from api.body import CappedStream
from api.errors import ApiError
from api.middleware import MAX_UPLOAD_BYTES
from stores.errors import TerminalStoreError
from stores.landing import LandingZone, LocalLandingZone, landing_key, upload_key

EXPIRES_IN = 900  # seconds: long enough for a big file to start, short enough to be useless later
MAX_FILENAME = 255


def url_signature(secret: bytes, method: str, key: str, expires: int) -> str:
    """The HMAC of a signed URL of this API: method, key (or file name) and expiry."""
    message = f"{method}\n{key}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def upload_signature(secret: bytes, key: str, expires: int) -> str:
    return url_signature(secret, "PUT", key, expires)


def signed_url_holds(
    req: falcon.Request, secret: bytes, method: str, key: str, now: float, longest: float
) -> bool:
    """Whether the request's `expires` and `signature` are a link this API signed for
    `method` on `key`, not expired and expiring within `longest` s (+ a minute of clock
    skew). `expires` must be ASCII digits: str.isdigit() takes "²", which int() refuses."""
    expires_raw = req.get_param("expires") or ""
    signature = req.get_param("signature") or ""
    if not (expires_raw.isascii() and expires_raw.isdigit()) or len(expires_raw) > 12:
        return False
    expires = int(expires_raw)
    if expires < now or expires > now + longest + 60:
        return False
    expected = url_signature(secret, method, key, expires)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


class UploadUrlResource:
    def __init__(self, landing: LandingZone, secret: bytes, clock: Callable[[], float]) -> None:
        self.landing = landing
        self.secret = secret
        self.clock = clock

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        filename = req.get_param("filename")
        if not filename or not filename.strip():
            raise ApiError(
                400, "invalid_request", "the filename query parameter is required",
                [{"path": "filename", "message": "required: the name of the file to upload"}],
            )
        if len(filename) > MAX_FILENAME or any(ord(c) < 32 for c in filename):
            raise ApiError(
                400, "invalid_request", f"filename must be at most {MAX_FILENAME} printable "
                "characters",
                [{"path": "filename", "message": "too long or contains control characters"}],
            )
        now = self.clock()
        key = upload_key(filename, today=datetime.fromtimestamp(now, UTC))
        presign = getattr(self.landing, "presign_put", None)
        if presign is not None:
            url = presign(key, EXPIRES_IN)
            shown_key = getattr(self.landing, "prefix", "") + key
        else:
            expires = int(now) + EXPIRES_IN
            signature = upload_signature(self.secret, key, expires)
            url = (
                f"{req.prefix}/common/uploads/{quote(key, safe='/')}"
                f"?expires={expires}&signature={signature}"
            )
            shown_key = key
        resp.media = {"url": url, "key": shown_key, "method": "PUT", "expires_in": EXPIRES_IN}


class UploadResource:
    """The embedded profile's stand-in for a presigned S3 PUT (404 on the S3 profile)."""

    def __init__(self, landing: LandingZone, secret: bytes, clock: Callable[[], float]) -> None:
        self.landing = landing
        self.secret = secret
        self.clock = clock

    def on_put(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        if not isinstance(self.landing, LocalLandingZone):
            raise ApiError(404, "not_found", "uploads go to the presigned S3 URL of upload-url")
        self._check(req, key)
        stream = CappedStream(cast(IO[bytes], req.bounded_stream), MAX_UPLOAD_BYTES)
        landed = self.landing.put(key, cast(IO[bytes], stream))
        resp.status = falcon.HTTP_201
        resp.media = {"key": landed.key, "size": landed.size}

    def _check(self, req: falcon.Request, key: str) -> None:
        forbidden = ApiError(
            403, "forbidden", "this upload URL is invalid or expired; ask upload-url for a new one"
        )
        if not signed_url_holds(req, self.secret, "PUT", key, self.clock(), EXPIRES_IN):
            raise forbidden
        try:
            landing_key(key)
        except TerminalStoreError:
            raise forbidden from None
