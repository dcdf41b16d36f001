"""Entry point of ``python -m septimbre.evaluate``."""

from septimbre.evaluate.cli import main

raise SystemExit(main())
