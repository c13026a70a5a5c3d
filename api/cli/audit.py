"""``tryggkarta audit verify``: check the audit trail's hash chain."""

from __future__ import annotations

import typer

from api.cli._common import console

__all__ = ["app", "audit_app", "verify"]

app = typer.Typer()
audit_app = typer.Typer(help="The audit trail (kept in the store).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify() -> None:
    """Check that no entry of the audit trail was changed, removed or inserted.

    Every entry in the store carries the SHA-256 of the entry before it; exit 1 naming
    the first entries where the chain breaks. A ``TRYGGKARTA_DATA_DIR/audit.jsonl`` left
    by an older version is checked too.
    """
    from api.http.audit import AUDIT_FILE, AuditLog, verify_file
    from api.settings import get_settings
    from api.storage import open_store
    from geo.errors import AnalysisError

    settings = get_settings()
    log = AuditLog(open_store(settings))
    checks = [(log.describe(), *log.verify())]
    legacy = settings.data_dir / AUDIT_FILE
    if legacy.exists():
        checks.append((str(legacy), *verify_file(legacy)))
    broken = []
    for where, n, problems in checks:
        if problems:
            shown = "\n  ".join(problems[:20])
            more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
            broken.append(f"{where}: the hash chain is broken ({len(problems)} problems "
                          f"in {n:,} entries):\n  {shown}{more}")
    if broken:
        raise AnalysisError("\n".join(broken))
    for where, n, _ in checks:
        console.print(f"{where}: {n:,} entries, hash chain intact", highlight=False,
                      markup=False)
