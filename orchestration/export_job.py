"""The `export_records` job: one run per export (launched by POST /{service}/export, or from
the launchpad with the same config), queued with the loads, cancellable from the UI. Its log
says the rows written so far; its end is a materialization of the `exports` asset (rows,
bytes, format, dataset version, file).

The export id is the run id of the first try; the file is `<export id>.<format>[.gz]`
(stores/exports/files.py). Before writing, the run removes the files older than
EXPORT_RETENTION_HOURS. No `from __future__ import annotations`: Dagster reads the
annotations at definition time.
"""

import dagster as dg

from assets.resources import ConnectraResource
from assets.retries import pause_before_retry, step_failed
from dbt_like_sql.query_values import load_rules
from stores.exports.files import export_files
from stores.exports.request import ExportRequest
from stores.exports.run import run_export
from vql.errors import VQLError

EXPORT_JOB_NAME = "export_records"
EXPORTS_ASSET = dg.AssetKey("exports")
EXPORT_TAGS = {"connectra/kind": "export"}
# A transient failure restarts the export from scratch (a new snapshot, a new file: the
# half-written one was discarded), a few times, widely spaced.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=3, delay=10)  # assets/retries.py


class ExportConfig(dg.Config):
    service: str
    request: str = "{}"
    """The where / order_by / select_columns / company_config, as JSON."""
    format: str = "csv"
    gzip: bool = False
    max_rows: int = 0
    """0: every matching record."""


@dg.op(name="write_export", description="Write the records matching a VQL where to a file.")
def export_records_op(
    context: dg.OpExecutionContext, config: ExportConfig, connectra: ConnectraResource
) -> dg.Output[None]:
    pause_before_retry(context, TRANSIENT_RETRY)
    settings = connectra.settings()
    try:
        request = ExportRequest.from_config(config.model_dump(), rules=load_rules())
    except VQLError as exc:
        raise dg.Failure(description=f"invalid export request: {exc}", allow_retries=False) from exc
    export_id = context.run.root_run_id or context.run_id
    files = export_files(settings)
    try:
        removed = files.sweep(settings.export_retention_hours * 3600)
        if removed:
            context.log.info(f"removed {len(removed)} expired export file(s)")
        report = run_export(
            connectra.stores(), files, request, export_id,
            progress=lambda p: context.log.info(p.describe()),
        )
    except Exception as exc:
        raise step_failed(context, exc, TRANSIENT_RETRY) from exc
    context.log.info(f"export {report.name}: {report.rows_written} rows, {report.bytes} bytes "
                     f"in {files.description}")
    metadata = {**report.metadata(), "export_id": export_id}
    context.log_event(dg.AssetMaterialization(asset_key=EXPORTS_ASSET, metadata=metadata))
    return dg.Output(None, metadata=metadata)


@dg.job(
    name=EXPORT_JOB_NAME,
    executor_def=dg.in_process_executor,
    tags=EXPORT_TAGS,
    description="Export the records matching a VQL where, from one snapshot, to a file.",
)
def export_job() -> None:
    export_records_op()
