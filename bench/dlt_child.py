"""The peer: dlt (dlt-hub) loading the same landed CSV into PostgreSQL, in its own process.

`python -m bench.dlt_child WORK KEY` prints one JSON line. Written as a user following dlt's
documentation would write "load a CSV into Postgres" today:

- a `@dlt.resource` that reads the file with pyarrow's streaming CSV reader and yields
  Arrow record batches (dlt's documented fast path for tabular data; every column read as
  text, since the file's numbers are written the ways people write them: "1,200", "1.2k");
- `loader_file_format="csv"`: what dlt's Postgres page recommends for Arrow data, written by
  pyarrow and loaded with COPY (the parquet route needs an ADBC driver that is not here;
  `read_csv_duckdb` of dlt's filesystem source breaks on duckdb 2.0);
- `write_disposition="replace"`: the file carries no key of its own (ids are what
  Connectra computes), so dlt's `merge` has nothing to merge on; a plain replace load is
  the fair reading of "load this CSV".

So the peer does less than Connectra's load (no normalization, identities, dedupe, merge
rule, rejects, second store): it is the speed of a generic loader moving the same bytes.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.env import DLT_DATASET, BenchEnv
from bench.procstat import status_kb


def run(work: Path, key: str) -> dict[str, Any]:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # no network here
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    import dlt
    import pyarrow as pa
    import pyarrow.csv as pacsv

    env = BenchEnv.load(work)
    path = env.landing / key
    pipelines = work / "dlt"
    shutil.rmtree(pipelines, ignore_errors=True)

    @dlt.resource(name="contacts_raw", write_disposition="replace")
    def contacts_csv() -> Iterator[pa.RecordBatch]:
        with path.open(encoding="utf-8", newline="") as text:
            header = next(csv.reader(text))
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=16 << 20),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string())),
            parse_options=pacsv.ParseOptions(newlines_in_values=True,
                                             invalid_row_handler=lambda row: "skip"),
        )
        yield from reader

    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt_csv",
        pipelines_dir=str(pipelines),
        destination=dlt.destinations.postgres(credentials=env.pg_url()),
        dataset_name=DLT_DATASET,
    )
    started = time.perf_counter()
    info = pipeline.run(contacts_csv(), loader_file_format="csv")
    seconds = time.perf_counter() - started
    info.raise_on_failed_jobs()
    with pipeline.sql_client() as client:
        counted: Any = client.execute_sql(f"SELECT count(*) FROM {DLT_DATASET}.contacts_raw")  # noqa: S608
        rows = counted[0][0]
    return {"key": key, "seconds": round(seconds, 3), "rows_loaded": int(rows),
            "write_disposition": "replace", "loader_file_format": "csv",
            "dlt_version": dlt.__version__,
            "peak_rss_mb": round(status_kb("VmHWM") / 1024, 1)}


def main() -> None:
    print(json.dumps(run(Path(sys.argv[1]), sys.argv[2])), flush=True)


if __name__ == "__main__":
    main()
