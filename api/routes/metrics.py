"""``/metrics``: Prometheus text, per worker or summed over workers (multiprocess mode)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import bearer, check_admin
from api.errors import ApiError
from rag.core.config import Settings
from rag.core.observability import exposition

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Open when no keys are set or ``metrics_public``; otherwise an admin key, as scrapers can send."""
    settings: Settings = request.app.state.settings
    if not settings.metrics_enabled:
        raise ApiError(404, "not_found", "metrics are off (POLICYRAG_METRICS_ENABLED=false)")
    if not settings.metrics_public:
        credentials: HTTPAuthorizationCredentials | None = await bearer(request)
        check_admin(settings, credentials)
    body, content_type = exposition()
    return Response(body, media_type=content_type)
