"""The one Dagster Definitions of Connectra, loaded by workspace.yaml and `dagster dev`."""

from __future__ import annotations

import dagster as dg

defs = dg.Definitions()
