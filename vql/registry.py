"""The field registry: which field of which service serves which kind of filter.

One table drives everything: the parser checks requests against it, both compilers take
column kinds from it, ``mapping`` derives the search index from it, and
``GET /common/filters/:service`` renders it (:func:`filters_payload`). Adding a filterable
field is one line here.

Data types are those of the stores' columns (see the contracts): ``text`` (a string that is
searched as words, also matched as a keyword and sorted case-insensitively), ``keyword`` (a
string matched only as a whole value), ``list`` (a list of keyword-style strings), ``int``
(whole numbers; ``int_bits`` says 32 or 64) and ``date`` (UTC timestamps).

``text`` lists the search types of a field's text_matches. ``substring`` is taken only by
the fields where looking for a part of a value makes sense (contacts first_name, last_name,
full_name, email, title, company_name, company_domain; companies name, domain, website):
they alone get the n-gram sub-field in the search index, and a substring on any other field
is refused (400) by the parser, whatever the engine.

``rule`` names the load rule a field's query values go through (see vql.normalizing): the
one the loader applies to the column the field is filled from. ``closed`` fields take only
their rule's vocabulary (a seed's canonical values), listed by the filters endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

DataType = Literal["text", "keyword", "list", "int", "date"]
SearchType = Literal["exact", "shuffle", "substring"]

SEARCH_TYPES: tuple[SearchType, ...] = ("exact", "shuffle", "substring")
SERVICES = ("contacts", "companies")


class Vocabulary(Protocol):
    """The canonical values of a rule (vql.normalizing.ValueRules.vocabulary)."""

    def __call__(self, rule: str) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Field:
    """One column of a service's search view and what VQL may do with it."""

    name: str
    label: str
    data_type: DataType
    text: tuple[SearchType, ...] = ()  # search types of text_matches; empty = not searchable
    keyword: bool = False
    range: bool = False
    sortable: bool = False
    listable: bool = True  # False for identifiers: listing their distinct values is useless
    int_bits: int = 64
    rule: str | None = None  # the load rule of its values; None: taken as written (ids)
    closed: bool = False  # only the rule's vocabulary is allowed (keyword_match)

    @property
    def is_list(self) -> bool:
        return self.data_type == "list"

    @property
    def analyzed(self) -> bool:
        """Mapped as text in the search engine (a list: when it allows text matches).

        Its words are indexed only when it takes text searches, its ``keyword`` sub-field
        made only when a query reads it (vql.mapping): making a field take a new kind of
        search changes the mapping, and `connectra migrate` rebuilds.
        """
        return self.data_type == "text" or bool(self.text)

    @property
    def substring(self) -> bool:
        """Takes substring searches: the only fields given the n-gram sub-field (making
        another field take them changes the mapping: `connectra migrate` rebuilds)."""
        return "substring" in self.text

    @property
    def value_type(self) -> str:
        return {"int": "number", "date": "date"}.get(self.data_type, "string")

    @property
    def has_values(self) -> bool:
        return self.keyword and self.listable

    @property
    def facetable(self) -> bool:
        """Counted per value (fields with a value list), per range (numbers, dates) or per
        date interval by the facets endpoint."""
        return self.has_values or self.range

    @property
    def filter_type(self) -> str | None:
        """The single ``type`` shown by the filters endpoint.

        A field may serve several kinds; the most capable one is shown: ``text`` when words
        can be searched (such a field usually also takes keyword_match, which
        ``has_values`` then tells), else ``keyword``, else ``range``. Fields that serve no
        filter and no sort are not shown at all.
        """
        if self.text:
            return "text"
        if self.keyword:
            return "keyword"
        if self.range:
            return "range"
        if self.sortable:
            return "keyword" if self.data_type in ("text", "keyword") else "range"
        return None


@dataclass(frozen=True)
class ServiceRegistry:
    """The fields of one service, its answer columns and (contacts) its company columns."""

    service: str
    fields: tuple[Field, ...]
    select_columns: tuple[str, ...]
    company_select_columns: tuple[str, ...] = ()
    _by_name: dict[str, Field] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Field | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Field:
        return self._by_name[name]

    def names(self, kind: str) -> tuple[str, ...]:
        """Field names serving ``kind``: text, substring, keyword, range or sort."""
        pick = {
            "text": lambda f: bool(f.text),
            "substring": lambda f: f.substring,
            "keyword": lambda f: f.keyword,
            "range": lambda f: f.range,
            "sort": lambda f: f.sortable,
        }[kind]
        return tuple(f.name for f in self.fields if pick(f))


ALL: tuple[SearchType, ...] = SEARCH_TYPES
# Words only: a substring search needs the field's n-gram sub-field, the costliest part of
# indexing text, so only the fields where looking for a part of a value makes sense (names,
# emails, titles, domains) take it.
WORDS: tuple[SearchType, ...] = ("exact", "shuffle")


# The load rule of a field whose column has no rule of its own: text (and a list element)
# is squished, a number is read as an amount, a date as a date. Lists whose cells the loader
# splits on ';' / ',' say so (rule="list"); a list of names such as files does not.
DEFAULT_RULES: dict[DataType, str] = {
    "text": "text", "keyword": "text", "list": "text", "int": "amount", "date": "time",
}
LIST: dict[str, Any] = {"rule": "list"}
COUNTRY: dict[str, Any] = {"rule": "country", "closed": True}


def _f(name: str, label: str, data_type: DataType, **kw: Any) -> Field:
    kw.setdefault("rule", DEFAULT_RULES[data_type])
    return Field(name, label, data_type, **kw)


_CONTACTS = ServiceRegistry(
    service="contacts",
    fields=(
        _f("id", "ID", "keyword", listable=False, rule=None),
        _f("first_name", "First name", "text", text=ALL, keyword=True, sortable=True),
        _f("last_name", "Last name", "text", text=ALL, keyword=True, sortable=True),
        _f("full_name", "Full name", "text", text=ALL),
        _f("title", "Title", "text", text=ALL),
        _f("seniority", "Seniority", "keyword", keyword=True, sortable=True, rule="seniority",
           closed=True),
        _f("departments", "Departments", "list", keyword=True, rule="departments"),
        _f("email", "Email", "text", text=ALL, keyword=True, sortable=True, rule="email"),
        _f("phone", "Phone", "keyword"),
        _f("linkedin_url", "LinkedIn URL", "keyword"),
        _f("city", "City", "text", text=WORDS, keyword=True),
        _f("state", "State", "text", text=WORDS, keyword=True),
        _f("country", "Country", "text", text=WORDS, keyword=True, sortable=True, **COUNTRY),
        _f("company_id", "Company ID", "keyword", keyword=True, listable=False, rule=None),
        _f("created_at", "Created at", "date", range=True, sortable=True),
        _f("updated_at", "Updated at", "date", range=True, sortable=True),
        _f("source_file", "Source file", "list", keyword=True),
        _f("load_run", "Load run", "keyword", keyword=True),
        _f("first_seen", "First seen", "date", range=True, sortable=True),
        _f("last_seen", "Last seen", "date", range=True, sortable=True),
        _f("company_name", "Company name", "text", text=ALL, keyword=True, sortable=True),
        _f("company_domain", "Company domain", "text", text=ALL, keyword=True, rule="domain"),
        _f("company_industries", "Company industries", "list", keyword=True, **LIST),
        _f("company_employees_count", "Company employees", "int", range=True, sortable=True),
        _f("company_annual_revenue", "Company annual revenue", "int", range=True),
        _f("company_founded_year", "Company founded year", "int", range=True, int_bits=32,
           rule="year"),
        _f("company_city", "Company city", "text"),
        _f("company_state", "Company state", "text"),
        _f("company_country", "Company country", "text", keyword=True, **COUNTRY),
    ),
    select_columns=(
        "id", "first_name", "last_name", "full_name", "title", "seniority", "departments",
        "email", "phone", "linkedin_url", "city", "state", "country", "company_id",
        "created_at", "updated_at", "source_file", "load_run", "first_seen", "last_seen",
        "company",
    ),
    company_select_columns=(
        "id", "name", "domain", "website", "industries", "employees_count", "annual_revenue",
        "founded_year", "city", "state", "country", "linkedin_url", "keywords",
        "technologies", "created_at", "updated_at",
    ),
)

_COMPANIES = ServiceRegistry(
    service="companies",
    fields=(
        _f("id", "ID", "keyword", listable=False, rule=None),
        _f("name", "Name", "text", text=ALL, keyword=True, sortable=True),
        _f("domain", "Domain", "text", text=ALL, keyword=True, sortable=True, rule="domain"),
        _f("website", "Website", "text", text=ALL),
        _f("industries", "Industries", "list", text=WORDS, keyword=True, **LIST),
        _f("employees_count", "Employees", "int", range=True, sortable=True),
        _f("employees_count_min", "Employees (range low)", "int"),
        _f("employees_count_max", "Employees (range high)", "int"),
        _f("annual_revenue", "Annual revenue", "int", range=True, sortable=True),
        _f("founded_year", "Founded year", "int", range=True, sortable=True, int_bits=32,
           rule="year"),
        _f("city", "City", "text", text=WORDS, keyword=True),
        _f("state", "State", "text", text=WORDS, keyword=True),
        _f("country", "Country", "text", text=WORDS, keyword=True, sortable=True, **COUNTRY),
        _f("linkedin_url", "LinkedIn URL", "keyword"),
        _f("keywords", "Keywords", "list", text=WORDS, keyword=True, **LIST),
        _f("technologies", "Technologies", "list", text=WORDS, keyword=True, **LIST),
        _f("created_at", "Created at", "date", range=True, sortable=True),
        _f("updated_at", "Updated at", "date", range=True, sortable=True),
        _f("source_file", "Source file", "list", keyword=True),
        _f("load_run", "Load run", "keyword", keyword=True),
        _f("first_seen", "First seen", "date", range=True, sortable=True),
        _f("last_seen", "Last seen", "date", range=True, sortable=True),
    ),
    select_columns=(
        "id", "name", "domain", "website", "industries", "employees_count", "annual_revenue",
        "founded_year", "city", "state", "country", "linkedin_url", "keywords",
        "technologies", "created_at", "updated_at", "source_file", "load_run", "first_seen",
        "last_seen",
    ),
)

REGISTRY: dict[str, ServiceRegistry] = {"contacts": _CONTACTS, "companies": _COMPANIES}


def registry(service: str) -> ServiceRegistry:
    """The registry of ``service``; KeyError names the known services."""
    try:
        return REGISTRY[service]
    except KeyError:
        raise KeyError(f"unknown service {service!r}; known: {', '.join(SERVICES)}") from None


def filters_payload(service: str, vocabulary: Vocabulary | None = None) -> dict[str, Any]:
    """The answer of ``GET /common/filters/:service``: one entry per filterable field.

    ``type`` is the most capable kind the field serves (see :attr:`Field.filter_type`);
    ``search_types`` and ``fuzzy`` describe text_matches (empty / false otherwise);
    ``has_values`` marks keyword fields whose distinct values the values endpoint lists;
    ``facetable`` the fields the facets endpoint counts; ``values``, on closed fields only,
    lists every value they allow (``vocabulary`` gives them, by rule: the seeds are read
    outside vql).
    """
    reg = registry(service)
    filters = []
    for f in reg:
        kind = f.filter_type
        if kind is None:
            continue
        entry: dict[str, Any] = {
            "key": f.name,
            "label": f.label,
            "type": kind,
            "value_type": f.value_type,
            "search_types": list(f.text),
            "fuzzy": "shuffle" in f.text,
            "sortable": f.sortable,
            "has_values": f.has_values,
            "facetable": f.facetable,
        }
        if f.closed and f.rule is not None and vocabulary is not None:
            entry["values"] = list(vocabulary(f.rule))
        filters.append(entry)
    return {"service": service, "filters": filters}
