"""``/audit``: the audit log (planners only), newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.http.deps import PlannerUser, RuntimeDep

__all__ = ["router"]

router = APIRouter(tags=["audit"])

EXAMPLE = {"time": "2025-05-01T08:12:03.512+00:00", "user": "anna.planner", "role": "planner",
           "method": "POST", "path": "/datasets", "action": "dataset.upload",
           "datasets": {"kameror": 3}, "params": {"kind": "cameras", "name": "kameror"},
           "status": 201, "duration_ms": 412.7, "client": "127.0.0.1", "error": None}


@router.get(
    "/audit",
    summary="Who loaded, changed, read or ran what (planners only)",
    responses={200: {"content": {"application/json": {"example": [EXAMPLE]}}},
               401: {"description": "Missing or unknown bearer token"},
               403: {"description": "Not a planner token"}},
)
async def read_audit(
    runtime: RuntimeDep,
    user: PlannerUser,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Newest entries to return.")]
    = 100,
    who: Annotated[str | None, Query(max_length=200,
                                     description="Only this token label.")] = None,
    action: Annotated[str | None, Query(max_length=100, description=(
        "Only this action, e.g. dataset.upload, dataset.delete, analysis.density."))] = None,
    dataset: Annotated[str | None, Query(max_length=100,
                                         description="Only entries using this dataset.")]
    = None,
    since: Annotated[datetime | None, Query(description=(
        "Only entries at or after this time (ISO 8601)."))] = None,
) -> list[dict[str, Any]]:
    """Entries of the audit log (kept in the store), newest first."""
    assert runtime.audit is not None
    return await runtime.run(runtime.audit.read, limit=limit, user=who, action=action,
                             dataset=dataset, since=since)
