"""Epoch milliseconds: how the search engine stores, sorts and returns dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_millis(value: datetime) -> int:
    """Milliseconds since the epoch (a naive datetime is taken as UTC); exact integers."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _MS


def from_epoch_millis(millis: int) -> datetime:
    return EPOCH + millis * _MS
