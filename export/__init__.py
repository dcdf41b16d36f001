"""ONNX export of septimbre models with the noteDigger graph contract, plus graph checks.

``export_onnx(model, path)`` writes one self-contained file; ``python -m septimbre.export`` is
the command. Importing this package is light (torch and onnx are imported when used).
"""

from __future__ import annotations

__all__ = ["contract_problems", "export_onnx", "inspect_graph", "main"]


def __getattr__(name: str):
    if name in ("export_onnx", "main"):
        from septimbre.export import onnx_export

        return getattr(onnx_export, name)
    if name in ("inspect_graph", "contract_problems"):
        from septimbre.export import graph

        return getattr(graph, name)
    raise AttributeError(name)
