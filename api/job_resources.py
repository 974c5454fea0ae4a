"""POST /common/jobs and GET /common/jobs/{job_id}: loads of one landed file, on Dagster."""

from __future__ import annotations

import falcon

from api.body import read_json
from api.errors import ApiError
from api.jobs import JobsClient, JobStatus
from stores.errors import TerminalStoreError
from stores.landing import FileMissing, LandingZone, landing_key
from vql.errors import raise_for
from vql.reader import Reader, json_type


class JobsResource:
    def __init__(self, jobs: JobsClient, landing: LandingZone) -> None:
        self.jobs = jobs
        self.landing = landing
        self.prefix: str = getattr(landing, "prefix", "")

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req)
        r = Reader()
        top = r.object(body, "", ("file_key",), "the request body")
        if top is not None and "file_key" not in top:
            r.error("/file_key", "file_key is required: the landed file's key")
        elif top is not None and not isinstance(top["file_key"], str):
            r.error("/file_key", f"file_key must be a string, got {json_type(top['file_key'])}")
        raise_for(r.errors)
        assert top is not None
        key = self.relative_key(top["file_key"])
        landed = self.landing.stat(key)  # FileMissing -> 404
        status = self.jobs.submit(key, landed.version)
        resp.status = falcon.HTTP_202
        resp.location = f"/common/jobs/{status.job_id}"
        resp.media = self.shown(status)

    def on_get_job(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        status = self.jobs.get(job_id)
        if status is None:
            raise ApiError(404, "not_found", f"no job {job_id!r}")
        resp.media = self.shown(status)

    def relative_key(self, file_key: str) -> str:
        """The key under the landing prefix: S3 object keys carry S3_PREFIX, folder paths
        are relative already."""
        key = file_key[len(self.prefix):] if self.prefix and file_key.startswith(self.prefix) \
            else file_key
        try:
            return landing_key(key)
        except TerminalStoreError:
            raise FileMissing("landing", "not a key of the landing zone") from None

    def shown(self, status: JobStatus) -> dict[str, object]:
        body = status.as_dict()
        if status.file_key:
            body["file_key"] = self.prefix + status.file_key
        return body
