"""``python -m septimbre.export``: see :func:`septimbre.export.onnx_export.main`."""

import sys

from septimbre.export.onnx_export import main

sys.exit(main())
