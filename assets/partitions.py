"""One dynamic partition per landed file; its key is the file's landing key."""

from __future__ import annotations

import dagster as dg

LANDED_FILES = "landed_files"
landed_files = dg.DynamicPartitionsDefinition(name=LANDED_FILES)

# Tags every ingest run carries, whoever launched it (sensor, CLI, API), so a run can be
# found by the file and version it loads.
FILE_KEY_TAG = "connectra/file_key"
FILE_VERSION_TAG = "connectra/file_version"
