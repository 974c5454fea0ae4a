"""`connectra migrate`: the schema and indices brought to what this version expects.

The schema goes through its migrations and missing indices are created (orchestration/up.py:
prepare_stores). An index whose mapping is not the one a new index gets (the mapping
changed: say the n-gram sub-field kept only on the fields that take substring searches) is
rebuilt from the records into a new versioned index and its alias swapped to it
(orchestration/reindex.py, stores/search/rebuild.py): queries keep answering from the old
index until the swap and from the new one after it, and loads running meanwhile are carried
over. An index that is up to date is left alone, so running it again does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from assets.loading import READ_BATCH_FACTOR
from orchestration.reindex import SERVICES, reindex
from orchestration.up import prepare_stores
from stores.base import Service
from stores.factory import Stores, open_stores
from stores.search import SearchEngineStore
from stores.settings import Settings


def outdated_indices(stores: Stores) -> dict[Service, tuple[str, ...]]:
    """The services whose live index has a mapping other than the current one, with how
    each differs (vql.mapping.mapping_drift); empty on the embedded profile."""
    search = stores.search
    if not isinstance(search, SearchEngineStore):
        return {}
    drift = {service: search.mapping_drift(service) for service in SERVICES}
    return {service: lines for service, lines in drift.items() if lines}


def migrate_stores(settings: Settings, log: Callable[[str], None] = print) -> None:
    """What `connectra migrate` does: schema, indices, and a rebuild of outdated indices."""
    prepare_stores(settings)
    stores = open_stores(settings)
    try:
        outdated = outdated_indices(stores)
        for service, lines in outdated.items():
            log(f"{service} index: mapping out of date ({'; '.join(lines)}); "
                "rebuilding it from the records")  # fmt: skip
        if not outdated:
            return
        report = reindex(
            stores,
            batch_rows=settings.batch_size_for_insertion * READ_BATCH_FACTOR,
            progress=lambda p: log(p.describe()),
            services=tuple(outdated),
        )
        for line in report.swaps:
            log(f"reindex {line}")
    finally:
        stores.close()


def warn_if_outdated(settings: Settings, log: Callable[[str], None]) -> None:
    """`connectra up` serves an outdated index as it is (a rebuild at every start could take
    minutes) and says how to bring it up to date."""
    if settings.profile == "embedded":
        return  # no index apart from the records
    stores = open_stores(settings)
    try:
        for service, lines in outdated_indices(stores).items():
            log(f"{service} index: mapping out of date ({'; '.join(lines)}); "
                "`connectra migrate` rebuilds it (queries keep working meanwhile)")
    finally:
        stores.close()
