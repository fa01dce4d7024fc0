from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, IndexDep, IngestorDep, Reader, SettingsDep
from api.errors import ApiError
from api.schemas import DeleteResponse, DocumentInfo, DocumentList, ErrorResponse, UploadResponse
from ingest.uploads import API_LOCK_WAIT_S, store_upload, too_large

router = APIRouter(prefix="/v1/documents", tags=["documents"], responses={401: {"model": ErrorResponse}})


@router.get("", response_model=DocumentList, dependencies=[Reader])
def list_documents(index: IndexDep) -> DocumentList:
    docs = index.documents()
    return DocumentList(documents=[DocumentInfo.of(entry) for _, entry in sorted(docs.items())])


@router.get("/{doc_id}", response_model=DocumentInfo, dependencies=[Reader],
            responses={404: {"model": ErrorResponse}})  # fmt: skip
def get_document(doc_id: str, index: IndexDep) -> DocumentInfo:
    entry = index.documents().get(doc_id)
    if entry is None:
        raise ApiError(404, "not_found", f"no document {doc_id!r}")
    return DocumentInfo.of(entry)


@router.post(
    "",
    response_model=UploadResponse,
    status_code=201,
    dependencies=[Admin],
    responses={
        403: {"model": ErrorResponse},
        409: {"model": ErrorResponse},
        413: {"model": ErrorResponse},
        415: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
    },
)
async def upload_document(
    settings: SettingsDep, ingestor: IngestorDep, file: Annotated[UploadFile, File()]
) -> UploadResponse:
    """Add or replace a document (md, txt, html, pdf, docx). It is searchable when this returns."""
    data = await file.read(settings.max_file_bytes + 1)
    if len(data) > settings.max_file_bytes:
        raise too_large(settings)
    result = await run_in_threadpool(store_upload, settings, ingestor, file.filename, data)
    entry = ingestor.index.documents().get(result.doc_id)
    info = DocumentInfo.of(entry) if entry else DocumentInfo(doc_id=result.doc_id, title=result.doc_id, chunks=0)
    return UploadResponse(
        document=info,
        replaced=result.replaced,
        chunks_added=result.report.chunks_added,
    )


@router.delete("/{doc_id}", response_model=DeleteResponse, dependencies=[Admin],
               responses={403: {"model": ErrorResponse}, 404: {"model": ErrorResponse}})  # fmt: skip
def delete_document(doc_id: str, ingestor: IngestorDep) -> DeleteResponse:
    """Remove a document from the index and its file from the corpus dir."""
    try:
        removed = ingestor.remove(doc_id, delete_file=True, lock_timeout=API_LOCK_WAIT_S, purpose=f"delete of {doc_id}")
    except KeyError:
        raise ApiError(404, "not_found", f"no document {doc_id!r}") from None
    return DeleteResponse(doc_id=doc_id, chunks_removed=removed)
