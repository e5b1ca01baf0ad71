"""Entry point: ``python -m pipelines <command>`` (see pipelines/cli.py)."""

import sys

from pipelines.cli import main

sys.exit(main())
