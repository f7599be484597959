"""Entry point of `python -m zoo.convert` (see zoo.convert.cli)."""

import sys

from zoo.convert.cli import main

sys.exit(main())
