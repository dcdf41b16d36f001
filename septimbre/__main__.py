"""``python -m septimbre``: the ``septimbre`` command line (see :mod:`septimbre.cli`)."""

import sys

from septimbre.cli import main

sys.exit(main())
