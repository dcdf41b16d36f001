"""``python -m septimbre.data``: see septimbre.data.cli."""

import sys

from septimbre.data.cli import main

sys.exit(main())
