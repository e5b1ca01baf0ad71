"""Entry point for ``python -m sample_data``."""

import sys

from sample_data.cli import main

sys.exit(main())
