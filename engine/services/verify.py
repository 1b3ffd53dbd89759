"""The verify use case: check an export's files against the SHA-256 checksums of its manifest, for
`cadis verify EXPORT_DIR` and the export dialog (which verifies each export it made) alike.

    result = verify(ctx, VerifyRequest(export_dir))
    result.ok, result.lines(), result.exit_code
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.jobs import JobContext


@dataclass
class VerifyRequest:
    """The export folder, and whether files the export did not write are accepted (listed, not checked)."""

    export_dir: str
    allow_unlisted: bool = False


@dataclass
class VerifyResult:
    """`report`: engine.export.VerifyReport (files checked, damaged and unexpected ones)."""

    report: object
    allow_unlisted: bool = False

    @property
    def ok(self) -> bool:
        return not self.report.damaged and (self.allow_unlisted or not self.report.unexpected)

    @property
    def exit_code(self) -> int:
        """0 when every file matches (and nothing else is there unless allowed), else 1."""
        return 0 if self.ok else 1

    def summary(self) -> str:
        """One line: what was found."""
        r = self.report
        if r.damaged:
            return f"{len(r.damaged)} of {r.checked} files damaged or missing in {r.root}"
        if r.unexpected and not self.allow_unlisted:
            return (f"{len(r.unexpected)} files in {r.root} were not written by the export: it was changed after "
                    "export (move them out, or accept them with --allow-unlisted)")
        extra = f" ({len(r.unexpected)} other files accepted)" if r.unexpected else ""
        return f"OK: {r.checked} files match their SHA-256 in {r.root}{extra}"

    def lines(self, quiet: bool = False) -> list[str]:
        """Every problem, one a line, then the summary (left out when all is well and `quiet`)."""
        out = [f"{rel}: {reason}" for rel, reason in self.report.damaged]
        out += [f"{rel}: not written by the export (not checked)" for rel in self.report.unexpected]
        if not (quiet and self.ok):
            out.append(self.summary())
        return out


def verify(ctx: JobContext, request: VerifyRequest) -> VerifyResult:
    """Read every file the manifest lists and compare checksums. ValueError (one line) when the folder is not
    a verifiable export."""
    from engine.export.verify import verify_export

    return VerifyResult(verify_export(request.export_dir, ctx), request.allow_unlisted)
