"""``tryggkarta audit verify``: check the audit trail's hash chain."""

from __future__ import annotations

import typer

from api.cli._common import console

__all__ = ["app", "audit_app", "verify"]

app = typer.Typer()
audit_app = typer.Typer(help="The audit trail (TRYGGKARTA_DATA_DIR/audit.jsonl).",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify() -> None:
    """Check that no entry of the audit trail was changed, removed or inserted.

    Every entry carries the SHA-256 of the line before it; exit 1 naming the first lines
    where the chain breaks.
    """
    from api.http.audit import AuditLog
    from api.settings import get_settings
    from geo.errors import AnalysisError

    log = AuditLog(get_settings().data_dir)
    n, problems = log.verify()
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise AnalysisError(f"{log.path}: the hash chain is broken ({len(problems)} "
                            f"problems in {n:,} entries):\n  {shown}{more}")
    console.print(f"{log.path}: {n:,} entries, hash chain intact", highlight=False,
                  markup=False)
