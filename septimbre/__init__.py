"""septimbre: lightweight multi-instrument transcription (notes split into one track per timbre).

The public API is imported lazily so that ``import septimbre`` stays light (no onnxruntime or
torch until a model is actually run).
"""

from __future__ import annotations

__version__ = "0.1.0"

from septimbre.utils.errors import SeptimbreError  # noqa: E402  (tiny, torch-free)

__all__ = ["__version__", "SeptimbreError"]
