"""Deterministic record ids, the Python twin of the `record_id` SQL macro.

The contracts define an id as md5(key) shaped as a version-3 UUID, so loading the same
file twice, or computing an id in another component, always gives the same value.
"""

from __future__ import annotations

import hashlib
import uuid


def record_id(key: str) -> str:
    """str(uuid.UUID(bytes=md5(key).digest(), version=3)): what the SQL computes too."""
    digest = hashlib.md5(key.encode("utf-8"), usedforsecurity=False).digest()
    return str(uuid.UUID(bytes=digest, version=3))


def company_key(domain: str | None, name: str | None, country: str | None) -> str | None:
    """Inputs already normalized (lowercase domain and country, squished name)."""
    if domain:
        return "domain:" + domain
    if name:
        return "name:" + name.lower() + "|" + (country or "")
    return None


def contact_key(
    email: str | None, linkedin_url: str | None, full_name: str | None, company_id: str | None
) -> str | None:
    """Inputs already normalized; a name identifies a contact only together with a company."""
    if email:
        return "email:" + email
    if linkedin_url:
        return "linkedin:" + linkedin_url.lower()
    if full_name and company_id:
        return "name:" + full_name.lower() + "|" + company_id
    return None
