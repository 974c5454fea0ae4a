"""Exports: every record matching a VQL where, as one file, from one snapshot of the data.

request.py validates what a client asks for; formats.py writes rows as csv / jsonl /
parquet in chunks; files.py keeps the files (S3 beside the landing prefix, or
CONNECTRA_HOME/exports) and publishes each only when it is complete; run.py walks one
snapshot of the stores into a file. The Dagster job (orchestration/export_job.py) and the
API (api/exports.py) are thin layers over these.
"""
