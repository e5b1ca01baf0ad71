"""Entry point: ``python -m pipelines <command>`` (see pipelines/cli.py)."""

import os
import sys
import warnings

import dagster as dg

# Dagster's notice that the assets' backfill_policy parameter is in beta: for developers, not
# for the person reading the run's terminal (the run log keeps every library's output).
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from pipelines.cli import main  # noqa: E402  (after the filter: importing it loads the definitions)

code = main()
# Leave without interpreter finalisation: every database is closed by now, and DuckDB 2.0's
# bindings otherwise print pages of harmless "nanobind: leaked instance" noise at exit after
# Great Expectations has used a connection.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
