"""Liveness and readiness probes."""

from fastapi import APIRouter, Request, Response, status

from ..readiness import Readiness

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Report that the process is up (liveness: no I/O)."""
    return {"status": "ok"}


@router.get(
    "/health/ready",
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"description": "Not ready: `reason` says why"}},
)
async def ready(request: Request, response: Response) -> dict[str, str]:
    """Report whether the service can serve: its database answers and its schema is at the migration head."""
    readiness: Readiness = request.app.state.readiness
    reason = await readiness.problem()
    if reason is None:
        return {"status": "ready"}
    response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    response.headers["Retry-After"] = "5"
    return {"status": "not_ready", "reason": reason}
