"""Entry point for ``python -m pipelines.generate``."""

import sys

from pipelines.generate.cli import main

sys.exit(main())
