"""``python -m septimbre.basicamt`` = the training command."""

import sys

from septimbre.basicamt.train import main

sys.exit(main())
