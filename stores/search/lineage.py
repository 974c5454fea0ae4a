"""The engine-side merge of a partial document: the record stores' merge rule, in Painless.

A load sends each record's document as a partial update. A plain `doc` merge would replace
`source_file` (every file that contributed) with the one file of this load, and move
created_at, first_seen and updated_at on every reload. So each update runs this script
instead, which applies the same rules as the SQL stores (stores/postgres/upsert.py,
stores/lineage.py):

- a given (non-null) value wins, a missing one never erases;
- `source_file` gains the files it lacks, in the order they came (one file given, or held by
  an older document, as a plain string is read as a one-element list);
- `created_at` is kept once set; `first_seen` only moves back, `last_seen` only forward;
- `updated_at` moves only when a data field really changed; `id`, `load_run` and a contact's
  `company_*` attributes (its company's record, not its own) do not count as a change;
- a write that would change nothing is a no-op (`ctx.op = 'none'`).

A load no longer goes through this script: it indexes the records' projection, the rows as
PostgreSQL merged them, with plain `index` actions (assets/loading.py; BENCHMARKS.md, 17.3),
so the merge rule runs once, in the records. The script stays for partial documents written
by `bulk_upsert` (a reindex's catch-up). `scripted_upsert` runs the same script on a new
document, so each document travels once per action. Dates compare as text: every date is written as
ISO-8601 UTC with the same layout (stores.records.iso_utc_text, and the same layout from
PostgreSQL in stores/postgres/scan.py), where text order is time order.

An engine without Painless (an Elasticsearch built without the lang-painless module, as the
test node of tools/elasticsearch) gets the same lineage another way: the store reads the
stored lineage of a batch's ids first and sends documents merged here
(`merged_with_stored`) as plain `doc_as_upsert` updates. That is a read, then a write: a
concurrent load of the same record in between can lose a file from the index's list (the
records keep it, and the drift sensor's per-file counts find and repair it), and
`updated_at` there moves with every load.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa

from stores.base import COMPANY_VIEW_COLUMNS

QUIET_FIELDS = ("id", "load_run", *COMPANY_VIEW_COLUMNS)


def _painless_list(names: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{n}'" for n in names) + "]"


MERGE_SCRIPT = (
    "def s = ctx._source; def d = params.doc; boolean changed = false; boolean dirty = false;"
    f" def quiet = {_painless_list(QUIET_FIELDS)};"
    " for (e in d.entrySet()) { String k = e.getKey(); def v = e.getValue(); def old = s[k];"
    "  if (k == 'updated_at') { continue; }"
    "  if (k == 'source_file') {"
    "   List files = new ArrayList();"
    "   if (old instanceof List) { files.addAll(old); } else if (old != null) { files.add(old); }"
    "   for (f in (v instanceof List ? v : [v])) { if (!files.contains(f)) { files.add(f); } }"
    "   if (!(old instanceof List) || files.size() != old.size()) {"
    " s[k] = files; dirty = true; }"
    "  } else if (k == 'last_seen') {"
    "   if (old == null || old.compareTo(v) < 0) { s[k] = v; dirty = true; }"
    "  } else if (k == 'first_seen') {"
    "   if (old == null || old.compareTo(v) > 0) { s[k] = v; dirty = true; }"
    "  } else if (k == 'created_at') {"
    "   if (old == null) { s[k] = v; dirty = true; }"
    "  } else if (old != v) {"
    "   s[k] = v; dirty = true; if (!quiet.contains(k)) { changed = true; }"
    "  }"
    " }"
    " if (d.updated_at != null && (s.updated_at == null || changed)) {"
    " if (s.updated_at != d.updated_at) { s.updated_at = d.updated_at; dirty = true; } }"
    " if (!dirty) { ctx.op = 'none'; }"
)


def merge_update(doc: dict[str, Any]) -> dict[str, Any]:
    """The body of one `update` action for a partial document."""
    return {
        "scripted_upsert": True,
        "script": {"source": MERGE_SCRIPT, "lang": "painless", "params": {"doc": doc}},
        "upsert": {},
    }


# What an engine without Painless must read back to merge a batch like the script does.
STORED_LINEAGE = ("source_file", "created_at", "first_seen", "last_seen")


def merged_with_stored(documents: pa.Table, stored: Mapping[str, Mapping[str, Any]]) -> pa.Table:
    """`documents` with the stored lineage of their ids merged in: the stored files first,
    then the new ones; created_at as stored; the earlier first_seen, the later last_seen."""
    if not stored:
        return documents
    rows = documents.to_pylist()
    for row in rows:
        old = stored.get(str(row["id"]))
        if old is None:
            continue
        if row.get("source_file") is not None and old.get("source_file") is not None:
            held, given = old["source_file"], row["source_file"]
            files = list(held) if isinstance(held, list) else [held]
            for file in given if isinstance(given, list) else [given]:
                if file not in files:
                    files.append(file)
            row["source_file"] = files
        if "created_at" in row and old.get("created_at") is not None:
            row["created_at"] = _instant(old["created_at"])
        for name, pick in (("first_seen", min), ("last_seen", max)):
            if row.get(name) is not None and old.get(name) is not None:
                row[name] = pick(row[name], _instant(old[name]))
    return pa.Table.from_pylist(rows, schema=documents.schema)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
