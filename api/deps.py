"""Dependencies as ``Annotated`` aliases: routes declare what they need, tests swap the providers.

The ones that only hand over what the app holds are ``async``: FastAPI runs a plain ``def``
dependency in its thread pool, a hop per dependency per request that, under 16 clients, kept the
event loop busier than the searches themselves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from ingest.pipeline import Ingestor
from rag.answer.pipeline import AnswerPipeline
from rag.cases.library import CaseLibrary
from rag.compose import compose
from rag.core.config import Settings
from rag.index.retrieval import SearchIndex
from rag.persist.feedback import FeedbackStore


@dataclass
class Services:
    """Everything loaded once per process at start-up and shared by requests."""

    settings: Settings
    index: SearchIndex
    pipeline: AnswerPipeline
    ingestor: Ingestor
    feedback: FeedbackStore
    cases: CaseLibrary | None = None  # built from the index on first use when not given


def build_services(settings: Settings) -> Services:
    """Load the model, open the store and build the BM25 index once, for every request to share."""
    built = compose(settings)
    built.index.warm_up()
    built.pipeline.warm_up()
    return Services(
        settings=settings,
        index=built.index,
        pipeline=built.pipeline,
        ingestor=Ingestor(settings, built.index, built.cases),
        feedback=built.feedback,
        cases=built.cases,
    )


async def get_services(request: Request) -> Services:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise ApiError(503, "not_ready", "the service is still loading; try again shortly")
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings_dep(services: ServicesDep) -> Settings:
    return services.settings


async def get_pipeline(services: ServicesDep) -> AnswerPipeline:
    return services.pipeline


async def get_index(services: ServicesDep) -> SearchIndex:
    return services.index


async def get_ingestor(services: ServicesDep) -> Ingestor:
    return services.ingestor


async def get_feedback(services: ServicesDep) -> FeedbackStore:
    return services.feedback


def get_cases(services: ServicesDep) -> CaseLibrary:
    if services.cases is None:
        services.cases = services.ingestor.cases
    return services.cases


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PipelineDep = Annotated[AnswerPipeline, Depends(get_pipeline)]
IndexDep = Annotated[SearchIndex, Depends(get_index)]
IngestorDep = Annotated[Ingestor, Depends(get_ingestor)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]
CasesDep = Annotated[CaseLibrary, Depends(get_cases)]

bearer = HTTPBearer(auto_error=False, description="An API key, when POLICYRAG_API_KEYS is set.")
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _matches(key: str, keys: set[str]) -> bool:
    return any(secrets.compare_digest(key.encode(), k.encode()) for k in keys)


async def require_reader(settings: SettingsDep, credentials: CredentialsDep) -> None:
    """Open when no keys are configured; otherwise a reader or admin key."""
    check_reader(settings, credentials)


async def require_admin(settings: SettingsDep, credentials: CredentialsDep) -> None:
    check_admin(settings, credentials)


def check_reader(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    keys = settings.reader_key_set
    if not keys:
        return
    if credentials is None or not _matches(credentials.credentials, keys):
        raise ApiError(401, "unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")


def check_admin(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    """Open only when no keys at all are configured; with reader keys only, nobody may write."""
    if not settings.reader_key_set:
        return
    check_reader(settings, credentials)
    assert credentials is not None
    if not _matches(credentials.credentials, settings.admin_key_set):
        raise ApiError(403, "forbidden", "this key may read but not change the library; use an admin key")


Reader = Depends(require_reader)
Admin = Depends(require_admin)
