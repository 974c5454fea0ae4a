"""VQL wire model: parse and validate a request (the JSON of DESIGN.md section 6).

Strict about shape (unknown members are errors, with a hint), lenient where Go clients
send zero values: ``null`` is absent everywhere, an empty ``{}`` or ``[]`` is an empty
clause whatever the clause's type, ``"cursor": ""``, ``"fuzzy": false``, ``"slop": 0`` and
``"operator": ""`` mean the defaults, an empty ``select_columns`` means all columns, and an
inert ``company_config`` (populate false, no columns) is accepted on companies.

All problems are collected and raised together as one :class:`~vql.errors.VQLError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vql.errors import CursorError, ErrorDetail, VQLUnsupportedError, child, raise_for
from vql.nodes import CompanyConfig, Query, Sort, Where
from vql.normalizing import QueryValues, ValueRules
from vql.reader import Reader, allowed_list, json_type, suggest
from vql.registry import REGISTRY, SERVICES, ServiceRegistry
from vql.where_parser import parse_where_into

if TYPE_CHECKING:
    from vql.cursor import CursorCodec

TOP_KEYS = ("where", "order_by", "page", "limit", "cursor", "select_columns", "company_config")
MAX_LIMIT = 100
DEFAULT_LIMIT = 25
MAX_WINDOW = 10_000  # page x limit; deeper results go through the cursor
MAX_PAGE = 10**9


def checked_registry(service: Any) -> ServiceRegistry:
    """The registry of ``service``, or a VQLUnsupportedError (the service is in the URL)."""
    if not isinstance(service, str) or service not in REGISTRY:
        msg = f"unknown service {service!r}; allowed: {allowed_list(SERVICES)}"
        raise VQLUnsupportedError([ErrorDetail("", msg, "unsupported")])
    return REGISTRY[service]


def parse_where(
    service: str,
    where_json: Any,
    path_prefix: str = "/where",
    rules: ValueRules | None = None,
) -> Where:
    """Parse the ``where`` member alone (count and filter-values endpoints).

    ``path_prefix`` is the pointer of ``where_json`` inside the request body, so errors
    point into the request as sent. ``rules`` normalize values as loads do (vql.normalizing).
    """
    reg = checked_registry(service)
    reader = Reader()
    where = parse_where_into(reader, reg, where_json, path_prefix, QueryValues(rules))
    raise_for(reader.errors)
    return where


def parse_query(
    service: str,
    body: Any,
    cursors: CursorCodec | None = None,
    rules: ValueRules | None = None,
) -> Query:
    """Parse and validate a whole VQL request for ``service``.

    ``cursors`` decodes a ``cursor`` member; without it a request carrying a cursor fails
    (cursor paging needs the API's secret). ``rules`` normalize keyword values and range
    bounds as loads normalize cells (vql.normalizing); without them values pass as written.
    """
    reg = checked_registry(service)
    r = Reader()
    top = r.object(body, "", TOP_KEYS, "the request body")
    if top is None:
        raise_for(r.errors)
        top = {}

    before = len(r.errors)
    where = parse_where_into(r, reg, top.get("where"), "/where", QueryValues(rules))
    order_by = _order_by(r, reg, top.get("order_by"))
    shape_ok = len(r.errors) == before

    limit, limit_ok = DEFAULT_LIMIT, True
    if "limit" in top:
        got = r.integer(top["limit"], "/limit", "limit", 1, MAX_LIMIT)
        limit, limit_ok = (got, True) if got is not None else (DEFAULT_LIMIT, False)
    page, page_ok = 1, True
    if "page" in top:
        got = r.integer(top["page"], "/page", "page", 1, MAX_PAGE)
        page, page_ok = (got, True) if got is not None else (1, False)

    token = top.get("cursor")
    if token is not None and not isinstance(token, str):
        kind = json_type(token)
        r.error("/cursor", f"cursor must be a string (a next_cursor) or null, got {kind}")
        token = None
    if token == "":
        token = None

    if token is None and page_ok and limit_ok and page * limit > MAX_WINDOW:
        r.error(
            "/page",
            f"page x limit must be at most {MAX_WINDOW} (got {page} x {limit}); "
            "to read deeper, follow next_cursor (pass it as cursor)",
        )

    select_columns = _columns(r, top.get("select_columns"), "/select_columns", reg.select_columns)
    company_config = _company_config(r, reg, top)

    cursor = None
    if token is not None and shape_ok:
        if cursors is None:
            r.error("/cursor", "cursor paging is not available on this endpoint", "cursor")
        else:
            try:
                cursor = cursors.decode(token, where, order_by)
            except CursorError as exc:
                r.errors.extend(exc.errors)
    raise_for(r.errors)
    return Query(
        service=reg.service,
        where=where,
        order_by=order_by,
        page=page,
        limit=limit,
        cursor=cursor,
        select_columns=select_columns,
        company_config=company_config,
    )


def _order_by(r: Reader, reg: ServiceRegistry, value: Any) -> tuple[Sort, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        r.error("/order_by", f"order_by must be an array of sort keys, got {json_type(value)}")
        return ()
    sortable = reg.names("sort")
    out: list[Sort] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        path = child("/order_by", i)
        o = r.object(item, path, ("order_by", "order_direction"), "a sort key")
        if o is None:
            continue
        name = o.get("order_by")
        direction = "asc"
        if "order_direction" in o:
            direction = r.choice(
                o["order_direction"], child(path, "order_direction"), "order_direction",
                ("asc", "desc"),
            ) or "asc"
        fpath = child(path, "order_by")
        if name is None:
            r.error(fpath, f"order_by is required: one of {allowed_list(sortable)}")
        elif not isinstance(name, str):
            r.error(fpath, f"order_by must be a field name, got {json_type(name)}")
        elif name not in sortable:
            r.error(
                fpath,
                f"cannot sort by {name!r}.{suggest(name, sortable)} "
                f"Sortable fields: {allowed_list(sortable)}",
                "unsupported",
            )
        elif name in seen:
            r.error(fpath, f"{name!r} is already sorted on by an earlier key")
        else:
            seen.add(name)
            out.append(Sort(name, "desc" if direction == "desc" else "asc"))
    return tuple(out)


def _columns(
    r: Reader, value: Any, path: str, allowed: tuple[str, ...]
) -> tuple[str, ...] | None:
    """A list of allowed column names, duplicates dropped; null or [] = all columns."""
    if value is None:
        return None
    if not isinstance(value, list):
        r.error(path, f"select_columns must be an array of column names, got {json_type(value)}")
        return None
    out: list[str] = []
    for i, name in enumerate(value):
        p = child(path, i)
        if not isinstance(name, str):
            r.error(p, f"a column name must be a string, got {json_type(name)}")
        elif name not in allowed:
            r.error(
                p,
                f"unknown column {name!r}.{suggest(name, allowed)} "
                f"Allowed: {allowed_list(allowed)}",
                "unsupported",
            )
        elif name not in out:
            out.append(name)
    return tuple(out) or None


def _company_config(r: Reader, reg: ServiceRegistry, top: dict[str, Any]) -> CompanyConfig | None:
    if "company_config" not in top:
        return None
    path = "/company_config"
    o = r.object(top["company_config"], path, ("populate", "select_columns"), "company_config")
    if o is None:
        return None
    populate = False
    if "populate" in o:
        populate = bool(r.boolean(o["populate"], child(path, "populate"), "populate"))
    columns_path = child(path, "select_columns")
    if not reg.company_select_columns:
        if populate or o.get("select_columns"):
            r.error(path, f"company_config is only allowed for contacts, not {reg.service}",
                    "unsupported")
        return None
    columns = _columns(r, o.get("select_columns"), columns_path, reg.company_select_columns)
    return CompanyConfig(populate=populate, select_columns=columns)
