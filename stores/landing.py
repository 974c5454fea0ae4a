"""The landing zone: where CSV files arrive, in S3 (any S3-compatible endpoint) or a folder.

One interface for both, so the sensor, the assets and the API never branch on the profile:
list what is there with a version (ETag or mtime) and a last-modified time, open a file as a
stream, accept an upload under a generated key. Keys are always relative to the landing
prefix / folder and use '/' separators; `landing_key` refuses anything that could escape it.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from stores.errors import BackendMisconfigured, TerminalStoreError, TransientStoreError
from stores.settings import S3Settings

LOADABLE_SUFFIXES = (".csv", ".csv.gz")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class LandedFile:
    key: str  # relative to the landing prefix or folder
    version: str  # ETag in S3, size + mtime in a folder: changes when the file does
    last_modified: datetime
    size: int


class FileMissing(TerminalStoreError):
    """No file under that key."""


class LandingZone(Protocol):
    description: str

    def list(self) -> list[LandedFile]: ...

    def stat(self, key: str) -> LandedFile: ...

    def open(self, key: str) -> IO[bytes]: ...

    def put(self, key: str, stream: IO[bytes]) -> LandedFile: ...

    def ping(self) -> None: ...


def exports_prefix(landing_prefix: str) -> str:
    """Where exports go in the bucket: `exports/` beside the landing prefix (`a/landing/` ->
    `a/exports/`; no landing prefix -> `exports/`, which the landing listing then skips)."""
    parent = posixpath.dirname(landing_prefix.rstrip("/"))
    return f"{parent}/exports/" if parent else "exports/"


def is_loadable(key: str) -> bool:
    name = posixpath.basename(key).lower()
    return not name.startswith(".") and name.endswith(LOADABLE_SUFFIXES) and "..." not in key


def landing_key(key: str) -> str:
    """Validates a key given by a client: relative, no '..', no empty or hidden segments."""
    parts = key.replace("\\", "/").split("/")
    if (
        not key
        or key.startswith("/")
        or any(p in {"", ".", ".."} or p.startswith(".") for p in parts)
        or any(ord(c) < 32 for c in key)
        or len(key) > 512
    ):
        raise TerminalStoreError("landing", f"not a valid landing key: {key!r}")
    return "/".join(parts)


def upload_key(filename: str, today: datetime | None = None) -> str:
    """A fresh key for an upload: uploads/<date>/<random>-<sanitized name>.csv[.gz]."""
    base = _SAFE_NAME.sub("_", posixpath.basename(filename.replace("\\", "/"))).strip("._")
    if not base.lower().endswith(LOADABLE_SUFFIXES):
        base = (base or "upload") + ".csv"
    day = (today or datetime.now(UTC)).strftime("%Y-%m-%d")
    return f"uploads/{day}/{uuid.uuid4().hex[:12]}-{base[-120:]}"


class LocalLandingZone:
    """A folder. Writers must not be seen half-way: uploads are written to a hidden temporary
    file and renamed into place, and the sensor ignores files modified in the last seconds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"folder {root}"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*landing_key(key).split("/"))

    def _landed(self, path: Path) -> LandedFile:
        st = path.stat()
        return LandedFile(
            key=path.relative_to(self.root).as_posix(),
            version=f"{st.st_size}-{st.st_mtime_ns}",
            last_modified=datetime.fromtimestamp(st.st_mtime, UTC),
            size=st.st_size,
        )

    def list(self) -> list[LandedFile]:
        self.root.mkdir(parents=True, exist_ok=True)
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                path = Path(dirpath, name)
                key = path.relative_to(self.root).as_posix()
                if is_loadable(key):
                    try:
                        found.append(self._landed(path))
                    except FileNotFoundError:  # removed while listing
                        continue
        return found

    def stat(self, key: str) -> LandedFile:
        try:
            return self._landed(self._path(key))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise FileMissing("landing", f"no file {key!r} in the landing folder") from None

    def open(self, key: str) -> IO[bytes]:
        try:
            return self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise FileMissing("landing", f"no file {key!r} in the landing folder") from None

    def put(self, key: str, stream: IO[bytes]) -> LandedFile:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self._landed(path)

    def ping(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise TerminalStoreError("landing", f"{self.root} is not writable")


class S3LandingZone:
    """A bucket and prefix on any S3-compatible endpoint, through boto3."""

    def __init__(self, settings: S3Settings, client: Any | None = None) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self.prefix = settings.prefix
        self.exports = exports_prefix(settings.prefix)  # never loaded, even under the prefix
        self.description = f"s3://{settings.bucket}/{settings.prefix}"
        self.client = client or s3_client(settings)
        # The sensor's listing has a deadline of its own (see S3Settings.list_timeout_seconds);
        # a client handed in (tests) serves both.
        self._list_client = client
        self.list_timeout = settings.list_timeout_seconds

    def _object_key(self, key: str) -> str:
        return self.prefix + landing_key(key)

    def list(self) -> list[LandedFile]:
        """Every loadable file. Each S3 request of the listing gets `list_timeout` seconds to
        connect and answer, LIST_ATTEMPTS times: a hung endpoint fails it in about twice that
        (TransientStoreError "S3 did not answer in N s"), rather than blocking a sensor tick
        for minutes (3 x the loader's 30 s read timeout, past Dagster's tick timeout)."""
        if self._list_client is None:
            self._list_client = s3_client(
                self.settings, timeout=self.list_timeout, attempts=LIST_ATTEMPTS
            )
        found = []
        with _s3_errors(
            connect_timeout=self.list_timeout, read_timeout=self.list_timeout,
            attempts=LIST_ATTEMPTS,
        ):  # fmt: skip
            pages = self._list_client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    key = obj["Key"][len(self.prefix) :]
                    if is_loadable(key) and not obj["Key"].startswith(self.exports):
                        found.append(
                            LandedFile(
                                key=key,
                                version=obj["ETag"].strip('"'),
                                last_modified=obj["LastModified"],
                                size=obj["Size"],
                            )
                        )
        return found

    def stat(self, key: str) -> LandedFile:
        with _s3_errors(key):
            head = self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        return LandedFile(
            key=key,
            version=head["ETag"].strip('"'),
            last_modified=head["LastModified"],
            size=head["ContentLength"],
        )

    def open(self, key: str) -> IO[bytes]:
        with _s3_errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))["Body"]
        return _S3Stream(body, key)  # type: ignore[return-value]

    def put(self, key: str, stream: IO[bytes]) -> LandedFile:
        with _s3_errors(key):
            self.client.upload_fileobj(stream, self.bucket, self._object_key(key))
        return self.stat(key)

    def presign_put(self, key: str, expires_in: int) -> str:
        with _s3_errors(key):
            url: str = self.client.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": self._object_key(key)},
                ExpiresIn=expires_in,
            )
        return url

    def ping(self) -> None:
        with _s3_errors():
            self.client.head_bucket(Bucket=self.bucket)


class _S3Stream:
    """A download body whose failures mid-file are transient (a retry reads it again)."""

    def __init__(self, body: Any, key: str) -> None:
        self.body = body
        self.key = key

    def read(self, size: int = -1, /) -> bytes:
        from botocore.exceptions import BotoCoreError
        from urllib3.exceptions import HTTPError

        try:
            data: bytes = self.body.read(size if size >= 0 else None)
        except (BotoCoreError, HTTPError, OSError) as exc:
            raise TransientStoreError("s3", f"download of {self.key!r} broke off") from exc
        return data

    def close(self) -> None:
        self.body.close()

    def __enter__(self) -> _S3Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS = 5.0, 30.0, 3  # the loader's reads, uploads
LIST_ATTEMPTS = 2


def s3_client(
    settings: S3Settings, timeout: float | None = None, attempts: int = ATTEMPTS
) -> Any:
    """A boto3 client; `timeout` (to connect and to answer) defaults to CONNECT_TIMEOUT and
    READ_TIMEOUT."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint,
        region_name=settings.region,
        aws_access_key_id=settings.access_key.get() if settings.access_key else None,
        aws_secret_access_key=settings.secret_key.get() if settings.secret_key else None,
        config=Config(
            signature_version="s3v4",
            connect_timeout=timeout or CONNECT_TIMEOUT,
            read_timeout=timeout or READ_TIMEOUT,
            retries={"max_attempts": attempts, "mode": "standard"},
        ),
    )


# S3 error codes that mean the configuration (bucket, keys, policy), not the request.
_S3_MISCONFIGURED = frozenset({"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId",
                               "SignatureDoesNotMatch", "AllAccessDisabled"})  # fmt: skip


@contextmanager
def _s3_errors(
    key: str | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    attempts: int = ATTEMPTS,
) -> Iterator[None]:
    """Translates botocore errors into the stores' error tree."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in {"NoSuchKey", "404", "NotFound"} and key is not None:
            raise FileMissing("s3", f"no file {key!r} in the landing bucket") from exc
        if status in {429, 500, 502, 503, 504} or code in {"SlowDown", "RequestTimeout"}:
            raise TransientStoreError("s3", f"S3 answered {status} {code}") from exc
        # A 404 without a key is the bucket itself (HEAD bucket answers without a code).
        if code in _S3_MISCONFIGURED or status in {401, 403} or (status == 404 and key is None):
            raise BackendMisconfigured("s3", f"S3 refused the request: {code}") from exc
        raise TerminalStoreError("s3", f"S3 refused the request: {code}") from exc
    except ConnectTimeoutError as exc:  # no SYN-ACK: a black hole
        raise TransientStoreError(
            "s3", f"S3 did not accept a connection in {connect_timeout:g} s ({attempts} attempts)"
        ) from exc
    except ReadTimeoutError as exc:  # connected, never answered: a hung endpoint
        raise TransientStoreError(
            "s3", f"S3 did not answer in {read_timeout:g} s ({attempts} attempts)"
        ) from exc
    except (EndpointConnectionError, ConnectionError) as exc:
        raise TransientStoreError("s3", "S3 endpoint unreachable") from exc
    except BotoCoreError as exc:
        raise TerminalStoreError("s3", type(exc).__name__) from exc


def landing_zone(settings: Any) -> LandingZone:
    """The landing zone the settings describe: S3 when configured, else the local folder."""
    if settings.s3 is not None:
        return S3LandingZone(settings.s3)
    return LocalLandingZone(settings.landing_dir)
