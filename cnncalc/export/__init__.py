"""Take designs out: a cnncalc spec written as code for another framework (PyTorch)."""
from __future__ import annotations

from cnncalc.export.calls import ExportError
from cnncalc.export.pytorch import export_pytorch

TARGETS = {"pytorch": export_pytorch}

__all__ = ["TARGETS", "ExportError", "export_pytorch"]
