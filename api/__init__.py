"""Connectra's HTTP read API: Falcon (WSGI) on waitress.

create_app(deps) in api.app wires resources to their stores; get_app() builds the deps from
the settings; api.server.serve(settings) runs it (`connectra api`). See api/README.md.
"""
