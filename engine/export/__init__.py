"""Exports of a project or dataset: the CaDIS layout with a manifest (more formats later)."""
from engine.export.cadis_export import (
    INCLUDE_CHOICES, SPLIT_CHOICES, ExportError, ExportResult, export_cadis, restore_interrupted_export,
)
from engine.export.manifest import MANIFEST_NAME, read_manifest

__all__ = ["export_cadis", "ExportResult", "ExportError", "SPLIT_CHOICES", "INCLUDE_CHOICES", "MANIFEST_NAME",
           "read_manifest", "restore_interrupted_export"]
