"""`GET /health`: liveness, and which actions this deployment can schedule."""

from __future__ import annotations

from fastapi import APIRouter

from scheduler_app.responses import HealthResponse
from taskcore.registry import registry

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="getHealth", response_model=HealthResponse)
async def health() -> HealthResponse:
    """Liveness, and which actions can be scheduled (touches neither configuration nor AWS)."""
    return HealthResponse(status="ok", service="scheduled-tasks-scheduler", actions=registry.names())
