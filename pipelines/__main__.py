"""Entry point: ``python -m pipelines <command>`` (see pipelines/cli.py)."""

import os
import sys

from pipelines.cli import main

code = main()
# Leave without interpreter finalisation: every database is closed by now, and DuckDB 2.0's
# bindings otherwise print pages of harmless "nanobind: leaked instance" noise at exit after
# Great Expectations has used a connection.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
