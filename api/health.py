"""GET /health: each backend pinged concurrently, with a deadline; 200 either way.

Public (no key), so it says only whether each check passed and our one-word reason (timeout,
unreachable, index_missing, misconfigured, error), never why in a backend's own words.
"degraded" tells a load balancer or a person that something behind the API is down while
the API itself answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout

import falcon

from stores.errors import (
    BackendMisconfigured,
    IndexMissing,
    StoreError,
    StoreTimeout,
    TransientStoreError,
)

CHECK_SECONDS = 3.0


class HealthResource:
    def __init__(self, checks: dict[str, tuple[str, Callable[[], None]]], pool: Executor) -> None:
        """`checks`: name -> (backend shown, ping)."""
        self.checks = checks
        self.pool = pool

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        started = time.monotonic()
        futures = {name: self.pool.submit(_timed, ping) for name, (_, ping) in self.checks.items()}
        results: dict[str, dict[str, object]] = {}
        for name, future in futures.items():
            backend = self.checks[name][0]
            remaining = max(0.05, CHECK_SECONDS - (time.monotonic() - started))
            results[name] = {"backend": backend, **_outcome(future, remaining)}
        healthy = all(r["status"] == "ok" for r in results.values())
        resp.media = {"status": "ok" if healthy else "degraded", "checks": results}
        resp.cache_control = ["no-store"]

    on_head = on_get


def _timed(ping: Callable[[], None]) -> float:
    started = time.perf_counter()
    ping()
    return round((time.perf_counter() - started) * 1000, 1)


def _outcome(future: Future[float], timeout: float) -> dict[str, object]:
    try:
        return {"status": "ok", "ms": future.result(timeout=timeout)}
    except FutureTimeout:
        return {"status": "down", "reason": "timeout"}
    except StoreTimeout:
        return {"status": "down", "reason": "timeout"}
    except IndexMissing:  # the engine answers, the index is gone: rebuilt from the records
        return {"status": "degraded", "reason": "index_missing"}
    except BackendMisconfigured:
        return {"status": "down", "reason": "misconfigured"}
    except TransientStoreError:
        return {"status": "down", "reason": "unreachable"}
    except StoreError:
        return {"status": "down", "reason": "error"}
    except Exception:  # noqa: BLE001 - a check that crashes is a failed check, not a 500
        return {"status": "down", "reason": "error"}
