"""Database URLs as given by users (postgresql://...) -> what SQLAlchemy's psycopg driver takes."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def engine_url(url: str | URL) -> URL:
    """postgres:// and postgresql:// (libpq style) become postgresql+psycopg://."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed
