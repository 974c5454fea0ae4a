"""The engine-side merge of a partial document: the record stores' merge rule, in Painless.

A load sends each record's document as a partial update. A plain `doc` merge would replace
`source_file` (every file that contributed) with the one file of this load, and move
created_at, first_seen and updated_at on every reload. So each update runs this script
instead, which applies the same rules as the SQL stores (stores/postgres/upsert.py,
stores/lineage.py):

- a given (non-null) value wins, a missing one never erases;
- `source_file` gains the files it lacks, in the order they came (one file given, or held by
  an older document, as a plain string is read as a one-element list);
- `created_at` and `first_seen` are kept once set; `last_seen` only moves forward;
- `updated_at` moves only when a data field really changed; `id`, `load_run` and a contact's
  `company_*` attributes (its company's record, not its own) do not count as a change;
- a write that would change nothing is a no-op (`ctx.op = 'none'`).

Why a script and not documents projected from the merged PostgreSQL rows: a union is
commutative, so two loads writing the same record in either order end alike, and the two
stores keep being written in parallel, as they were; a projection would serialize each
batch behind its PostgreSQL write and let the later of two concurrent writes carry an older
list. `scripted_upsert` runs the same script on a new document, so each document travels
once per action. Dates compare as text: every date is written as ISO-8601 UTC with the same
layout (stores/search/bulk.py: json_ready), where text order is time order.
"""

from __future__ import annotations

from typing import Any

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
    "  } else if (k == 'created_at' || k == 'first_seen') {"
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
