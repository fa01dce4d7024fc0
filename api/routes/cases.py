"""The case library over HTTP: search the precedent cases, open one with its similar cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import CasesDep, Reader
from api.errors import ApiError
from api.schemas import ErrorResponse
from rag.cases.model import CaseDetail, CaseRecord

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses={401: {"model": ErrorResponse}})


class CaseList(BaseModel):
    cases: list[CaseRecord]
    total: int = Field(description="How many cases matched (before the limit).")


@router.get("", response_model=CaseList, dependencies=[Reader])
async def list_cases(
    cases: CasesDep,
    q: Annotated[str | None, Query(max_length=500, description="Words to find in a case's name and fields.")] = None,
    doc_id: Annotated[str | None, Query(max_length=200, description="Only cases this document mentions.")] = None,
    topic: Annotated[str | None, Query(max_length=200, description="Only cases of documents with this topic.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CaseList:
    """Cases the documents name; each field a verbatim quote with its place, or empty (not stated)."""
    found = await run_in_threadpool(cases.search, q, doc_id, topic, 10_000)
    return CaseList(cases=found[:limit], total=len(found))


@router.get("/{case_id}", response_model=CaseDetail, dependencies=[Reader],
            responses={404: {"model": ErrorResponse}})  # fmt: skip
async def get_case(case_id: str, cases: CasesDep) -> CaseDetail:
    """One case, with the cases nearest to it by embedding ("similar cases")."""
    detail = await run_in_threadpool(cases.detail, case_id)
    if detail is None:
        raise ApiError(404, "not_found", f"no case {case_id!r}; GET /v1/cases lists them")
    return detail
