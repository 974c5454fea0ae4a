"""What assets and the API need from a store, whichever backend answers.

Two roles: the *record store* keeps the rows (PostgreSQL, or DuckDB when embedded) and the
*search store* finds ids (OpenSearch / Elasticsearch, or the same DuckDB). The API asks the
search store for a page of ids and the exact total, then the record store for those rows in
that order; the ingestion writes each normalized batch to both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pyarrow as pa

Service = Literal["contacts", "companies"]

# The contacts search view (SQL view or index documents) is the contacts columns plus these
# company attributes: name in the view -> column of companies. One list for every store.
COMPANY_VIEW_COLUMNS: dict[str, str] = {
    "company_name": "name",
    "company_domain": "domain",
    "company_industries": "industries",
    "company_employees_count": "employees_count",
    "company_annual_revenue": "annual_revenue",
    "company_founded_year": "founded_year",
    "company_city": "city",
    "company_state": "state",
    "company_country": "country",
}
Record = dict[str, Any]
# A batch's search documents as the record store merged them: (id, JSON text) per service.
Documents = Mapping[Service, Iterable[tuple[str, str]]]
# How many ids a store hands over at a time where it streams them (ids_for_file).
IDS_PAGE = 10_000


@dataclass(frozen=True)
class SearchPage:
    """One page of a VQL filter: ids in answer order, the exact total, the next cursor."""

    ids: list[str]
    total: int
    next_cursor: str | None


@dataclass(frozen=True)
class ValueCount:
    value: str
    count: int


class RecordStore(Protocol):
    # Whether two reads at once cost the API process little: a database server answers them
    # on cores of its own (PostgreSQL), so a page's companies are looked up by its contact
    # ids beside the fetch of its rows. False where reads run on the API process's own
    # cores (DuckDB): the companies are looked up after the rows, by the company ids they
    # hold, which is less work (api/records.py).
    concurrent_reads: bool

    def upsert_companies(self, rows: pa.Table) -> None: ...

    def upsert_contacts(self, rows: pa.Table) -> None: ...

    def upserted_documents(
        self, companies: pa.Table, contacts: pa.Table
    ) -> AbstractContextManager[Documents]:
        """Merges a batch's companies and contacts in one transaction and yields their search
        documents as merged, the transaction still open (committed when the block ends,
        rolled back when it raises). A store that is its own search index yields none."""
        ...

    def insert_rejects(self, rows: pa.Table) -> None: ...

    def fetch(
        self, service: Service, ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Record]:
        """Rows for ids, in the order given, with only `columns` (all when None)."""
        ...

    def companies_of_contacts(
        self, contact_ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> dict[str, Record]:
        """The companies of a page of contacts, keyed by id, in one query."""
        ...

    def ids_for_file(self, service: Service, source_file: str) -> Iterator[str]:
        """Ids of the records this file contributed to, in ascending order, streamed (a
        file may hold millions: assets.loading.stores_agree walks two such streams side by
        side rather than holding them)."""
        ...

    def index_writes(
        self, index_set: str, *, exclusive: bool, wait_s: float
    ) -> AbstractContextManager[None]:
        """The lock that orders writes to the search index set `index_set` against a
        reindex's alias swap: a load batch holds it shared, the swap exclusively, waiting
        at most wait_s (stores.factory.Stores.index_writes). A store that is its own search
        index has no swap to order against: nothing to hold."""
        ...

    def mark_loaded(self, load_run: str) -> None:
        """A load run completed: the dataset version moves (stores/versions.py)."""
        ...

    def dataset_version(self) -> Any:
        """The newest stores.versions.DatasetVersion."""
        ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


class SearchStore(Protocol):
    # The name of the store's set of indices (their prefix; "" for the embedded store).
    index_prefix: str

    def ensure_indices(self) -> None: ...

    def bulk_upsert(self, service: Service, documents: pa.Table) -> None: ...

    def index_documents(self, service: Service, sources: Iterable[tuple[str, str]]) -> int:
        """Writes whole documents (RecordStore.upserted_documents); returns how many."""
        ...

    def refresh(self) -> None: ...

    def search(self, query: Any) -> SearchPage:
        """`query` is a parsed vql.Query (cursor already verified)."""
        ...

    def count(self, service: Service, where: Any) -> int: ...

    def values(
        self,
        service: Service,
        field: str,
        search_text: str,
        limit: int,
        where: Any | None = None,
    ) -> list[ValueCount]:
        """Distinct values of a keyword field containing search_text, most frequent first."""
        ...

    def facets(self, request: Any) -> dict[str, Any]:
        """`request` is a vql.facets.FacetsRequest; the answer of POST /:service/facets."""
        ...

    def explain(self, request: Any) -> dict[str, Any]:
        """`request` is a vql.explain.ExplainRequest; the answer of POST /:service/explain."""
        ...

    def ids_for_file(self, service: Service, source_file: str) -> Iterator[str]:
        """As RecordStore.ids_for_file: ascending, streamed."""
        ...

    def ping(self) -> None: ...

    def close(self) -> None: ...
