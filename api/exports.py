"""POST /{service}/export, GET /common/exports/{export_id} and, without S3, the signed
GET /common/export-files/{name} that streams a finished file.

An export is a Dagster run of `export_records` (api/dagster_exports.py). The body is
validated first, exactly like filter's (stores/exports/request.py): a bad where is the
filter's 400, before Dagster is asked. An export belongs to the API key that created it:
another key gets 404 for its id. Its download_url is a presigned S3 GET or a URL of this
API signed like the embedded upload URLs (HMAC of method, name and expiry), valid for
EXPORT_LINK_SECONDS and never past the file's removal (EXPORT_RETENTION_HOURS).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

import falcon

from api.body import read_json
from api.dagster_exports import ExportRun
from api.errors import ApiError
from api.uploads import signed_url_holds, url_signature
from stores.errors import TerminalStoreError
from stores.exports.files import ExportFiles, LocalExportFiles, check_name
from stores.exports.request import parse_export_request
from stores.settings import Settings
from vql.normalizing import ValueRules

FILES_PREFIX = "/common/export-files/"
CHUNK = 1024 * 1024


class ExportsClient(Protocol):
    def submit(self, config: dict[str, Any], owner: str, suffix: str) -> str: ...

    def get(self, export_id: str) -> ExportRun | None: ...


class ExportResource:
    def __init__(
        self, service: str, exports: ExportsClient, rules: ValueRules | None = None
    ) -> None:
        self.service = service
        self.exports = exports
        self.rules = rules

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = parse_export_request(self.service, read_json(req), self.rules)
        export_id = self.exports.submit(request.as_config(), _owner(req), request.suffix)
        resp.status = falcon.HTTP_202
        resp.location = f"/common/exports/{export_id}"
        resp.media = {"export_id": export_id, "status": "in_queue"}


class ExportStatusResource:
    def __init__(
        self,
        exports: ExportsClient,
        files: ExportFiles,
        settings: Settings,
        secret: bytes,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.exports = exports
        self.files = files
        self.settings = settings
        self.secret = secret
        self.clock = clock

    def on_get(self, req: falcon.Request, resp: falcon.Response, export_id: str) -> None:
        run = self.exports.get(export_id)
        if run is None or not hmac.compare_digest(run.owner, _owner(req)):
            raise ApiError(404, "not_found", f"no export {export_id!r}")
        resp.media = {
            "export_id": run.export_id,
            "status": run.status,
            "rows_written": run.rows_written,
            "bytes": run.bytes,
            "format": run.format,
            "dataset_version": run.dataset_version,
            "created_at": run.created_at,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "error": run.error,
            "download_url": self.download_url(req, run),
        }
        if run.dataset_version is not None:
            resp.set_header("X-Dataset-Version", str(run.dataset_version))

    def download_url(self, req: falcon.Request, run: ExportRun) -> str | None:
        """A link valid for EXPORT_LINK_SECONDS, never past the file's removal; None until
        the export completed, and once its file is gone."""
        if run.status != "completed" or run.finished_epoch is None:
            return None
        name = run.export_id + run.suffix
        now = self.clock()
        removal = run.finished_epoch + self.settings.export_retention_hours * 3600
        expires_in = int(min(self.settings.export_link_seconds, removal - now))
        if expires_in <= 0 or self.files.size(name) is None:
            return None
        presign = getattr(self.files, "presign_get", None)
        if presign is not None:
            return str(presign(name, expires_in))
        expires = int(now) + expires_in
        signature = url_signature(self.secret, "GET", name, expires)
        return f"{req.prefix}{FILES_PREFIX}{quote(name)}?expires={expires}&signature={signature}"


class ExportFileResource:
    """The folder profile's stand-in for a presigned S3 GET (404 when exports are in S3)."""

    def __init__(
        self, files: ExportFiles, settings: Settings, secret: bytes, clock: Callable[[], float]
    ) -> None:
        self.files = files
        self.settings = settings
        self.secret = secret
        self.clock = clock

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        if not isinstance(self.files, LocalExportFiles):
            raise ApiError(404, "not_found", "exports are downloaded from S3 (download_url)")
        forbidden = ApiError(
            403, "forbidden", "this download URL is invalid or expired; GET the export's "
            "status for a new one"
        )
        longest = self.settings.export_link_seconds
        if not signed_url_holds(req, self.secret, "GET", name, self.clock(), longest):
            raise forbidden
        try:
            check_name(name)
            stream = self.files.open(name)
        except (TerminalStoreError, FileNotFoundError):
            raise ApiError(404, "not_found", "the export's file is gone (expired)") from None
        resp.stream = stream
        resp.content_length = self.files.size(name)
        resp.content_type = _content_type(name)
        resp.downloadable_as = name


def _owner(req: falcon.Request) -> str:
    return str(getattr(req.context, "key_fingerprint", None) or "")


def _content_type(name: str) -> str:
    if name.endswith(".gz"):
        return "application/gzip"
    if name.endswith(".parquet"):
        return "application/vnd.apache.parquet"
    if name.endswith(".jsonl"):
        return "application/x-ndjson"
    return "text/csv; charset=utf-8"
