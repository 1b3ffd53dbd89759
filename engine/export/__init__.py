"""Exports of a project or dataset: the CaDIS layout with a manifest, COCO RLE annotations, a class-frequency report."""
from engine.export.cadis_export import (
    INCLUDE_CHOICES, SPLIT_CHOICES, ExportError, ExportResult, export_cadis, restore_interrupted_export,
)
from engine.export.manifest import MANIFEST_NAME, read_manifest
from engine.export.coco import decode_labels, write_coco
from engine.export.formats import EXPORT_FORMATS, ExportFormat, parse_formats, register_format
from engine.export.job import ExportOptions, ExportOutcome, run_export
from engine.export.report import report_from_export, write_report
from engine.export.verify import VerifyReport, verify_export

__all__ = ["export_cadis", "ExportResult", "ExportError", "SPLIT_CHOICES", "INCLUDE_CHOICES", "MANIFEST_NAME",
           "read_manifest", "restore_interrupted_export", "write_coco", "decode_labels", "report_from_export", "write_report",
           "verify_export", "VerifyReport", "ExportOptions", "ExportOutcome", "run_export",
           "EXPORT_FORMATS", "ExportFormat", "parse_formats", "register_format"]
