"""`connectra api`: the app on waitress, with a thread pool, until interrupted."""

from __future__ import annotations

import logging
import sys

from api.app import create_app, ensure_api_key, open_deps
from api.middleware import MAX_UPLOAD_BYTES
from stores.settings import Settings, load_settings

log = logging.getLogger("connectra.api")
SERVER_THREADS = 8


def configure_logging() -> None:
    """Access lines as bare JSON on stderr; everything else with level and logger name."""
    access = logging.getLogger("connectra.api.access")
    if not access.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(settings: Settings | None = None, host: str | None = None,
          port: int | None = None) -> None:
    """`connectra api`: the app on waitress with a thread pool, until interrupted."""
    from waitress import serve as waitress_serve

    settings = ensure_api_key(settings or load_settings())
    configure_logging()
    deps = open_deps(settings)
    app = create_app(deps)
    host, port = host or settings.api_host, port or settings.api_port
    log.info("Connectra API on http://%s:%d (%s profile)", host, port, settings.profile)
    try:
        waitress_serve(
            app, host=host, port=port, threads=SERVER_THREADS, ident="connectra",
            max_request_body_size=MAX_UPLOAD_BYTES, clear_untrusted_proxy_headers=True,
        )
    finally:
        deps.records.close()
        if deps.search is not deps.records:
            deps.search.close()
