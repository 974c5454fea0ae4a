"""Where export files live, and how one is published only when it is complete.

S3 (whenever S3 is configured): objects under an `exports/` prefix beside the landing
prefix (landing prefix `data/landing/` -> `data/exports/`; no prefix -> `exports/`, which
the landing listing skips), written as a multipart upload: the object exists only once the
upload is completed, and a failed or cancelled export aborts the upload, so no partial file
is ever visible. Downloads are presigned GETs.

Folder (no S3): CONNECTRA_HOME/exports, written to a hidden temporary file in that folder
and renamed into place when complete (a rename is atomic); the API streams it behind a
signed URL.

Files older than the retention (EXPORT_RETENTION_HOURS) are removed by `sweep`, which every
export run calls before it starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from stores.errors import TerminalStoreError
from stores.landing import _s3_errors, exports_prefix, s3_client
from stores.settings import S3Settings, Settings

PART_BYTES = 8 * 1024 * 1024  # S3 parts (at least 5 MiB but the last)
_NAME = re.compile(r"^[0-9a-f-]{36}\.(csv|jsonl|parquet)(\.gz)?$")


def check_name(name: str) -> str:
    """Export file names are `<export id>.<format>[.gz]`; anything else is refused."""
    if not _NAME.match(name):
        raise TerminalStoreError("exports", "not an export file name")
    return name


class Counting:
    """A write-only binary stream that counts what passes through it."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.target.write(data)
        self.bytes += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def tell(self) -> int:
        return self.bytes

    @property
    def closed(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


class ExportFiles(Protocol):
    description: str

    def writer(self, name: str) -> contextlib.AbstractContextManager[Counting]:
        """A sink published as `name` when the with-block ends normally, discarded else."""
        ...

    def size(self, name: str) -> int | None: ...

    def sweep(self, older_than_seconds: float) -> list[str]: ...


class LocalExportFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)

    def path(self, name: str) -> Path:
        return self.root / check_name(name)

    @contextmanager
    def writer(self, name: str) -> Iterator[Counting]:
        target = self.path(name)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as handle:
                yield Counting(handle)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def open(self, name: str) -> IO[bytes]:
        return self.path(name).open("rb")

    def size(self, name: str) -> int | None:
        try:
            return self.path(name).stat().st_size
        except FileNotFoundError:
            return None

    def sweep(self, older_than_seconds: float) -> list[str]:
        """Deletes files (and leftover temporary files) older than the retention."""
        cutoff = time.time() - older_than_seconds
        removed = []
        for path in self.root.glob("*") if self.root.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path.name)
        return removed


class S3ExportFiles:
    def __init__(self, settings: S3Settings, client: Any | None = None) -> None:
        self.bucket = settings.bucket
        self.prefix = exports_prefix(settings.prefix)
        self.client = client or s3_client(settings)
        self.description = f"s3://{self.bucket}/{self.prefix}"

    def key(self, name: str) -> str:
        return self.prefix + check_name(name)

    @contextmanager
    def writer(self, name: str) -> Iterator[Counting]:
        key = self.key(name)
        with _s3_errors():
            upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
        parts = _Parts(self.client, self.bucket, key, upload["UploadId"])
        try:
            sink = Counting(parts)
            yield sink
            parts.complete()
        except BaseException:
            parts.abort()
            raise

    def size(self, name: str) -> int | None:
        try:
            with _s3_errors(name):
                head = self.client.head_object(Bucket=self.bucket, Key=self.key(name))
        except TerminalStoreError:  # FileMissing included
            return None
        return int(head["ContentLength"])

    def presign_get(self, name: str, expires_in: int) -> str:
        with _s3_errors(name):
            url: str = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self.key(name)},
                ExpiresIn=expires_in,
            )
        return url

    def sweep(self, older_than_seconds: float) -> list[str]:
        cutoff = time.time() - older_than_seconds
        removed = []
        with _s3_errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    if obj["LastModified"].timestamp() < cutoff:
                        self.client.delete_object(Bucket=self.bucket, Key=obj["Key"])
                        removed.append(obj["Key"][len(self.prefix):])
        return removed


class _Parts:
    """The file-like end of a multipart upload: buffers PART_BYTES, uploads each part."""

    def __init__(self, client: Any, bucket: str, key: str, upload_id: str) -> None:
        self.client, self.bucket, self.key, self.upload_id = client, bucket, key, upload_id
        self.buffer = bytearray()
        self.done: list[dict[str, Any]] = []

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= PART_BYTES:
            self._send()
        return len(data)

    def _send(self) -> None:
        number = len(self.done) + 1
        with _s3_errors():
            answer = self.client.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                PartNumber=number, Body=bytes(self.buffer),
            )
        self.done.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.buffer = bytearray()

    def complete(self) -> None:
        if self.buffer or not self.done:
            self._send()
        with _s3_errors():
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                MultipartUpload={"Parts": self.done},
            )

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # keep the export's own error
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )


def export_files(settings: Settings) -> ExportFiles:
    if settings.s3 is not None:
        return S3ExportFiles(settings.s3)
    return LocalExportFiles(settings.home / "exports")
