"""The UI's only way to the library: the HTTP API. Errors become messages a reader can act on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx


class ApiUnavailable(RuntimeError):
    """The API cannot be reached at all."""


class ApiError(RuntimeError):
    """The API answered with an error (its message is meant for people)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ApiClient:
    def __init__(self, base_url: str, api_key: str | None = None, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=httpx.Timeout(300, connect=5),
                                 transport=transport)  # fmt: skip

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            r = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiUnavailable(f"The policyrag API at {self.base_url} is not reachable ({exc}).") from exc
        if r.status_code >= 400:
            raise ApiError(r.status_code, _message(r))
        return r.json()

    def documents(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v1/documents")["documents"])

    def cases(self, q: str | None = None, doc_id: str | None = None, topic: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("q", q), ("doc_id", doc_id), ("topic", topic)) if v}
        return list(self._call("GET", "/v1/cases", params={**params, "limit": 500})["cases"])

    def case(self, case_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/v1/cases/{httpx.URL(case_id).raw_path.decode()}"))

    def upload(self, filename: str, data: bytes) -> dict[str, Any]:
        return dict(self._call("POST", "/v1/documents", files={"file": (filename, data)}))

    def feedback(self, question: str, answer: str, rating: str, comment: str | None,
                 citations: list[dict[str, Any]]) -> int:  # fmt: skip
        body = {"question": question, "answer": answer, "rating": rating, "comment": comment or None,
                "citations": citations}  # fmt: skip
        return int(self._call("POST", "/v1/feedback", json=body)["id"])

    def ask_stream(self, body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event, data) pairs from ``POST /v1/ask`` with ``stream: true``."""
        try:
            with self.http.stream("POST", "/v1/ask", json={**body, "stream": True}) as r:
                if r.status_code >= 400:
                    r.read()
                    raise ApiError(r.status_code, _message(r))
                event = ""
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        yield event, json.loads(line[6:])
                        event = ""
        except httpx.TransportError as exc:
            raise ApiUnavailable(f"The policyrag API at {self.base_url} is not reachable ({exc}).") from exc


def _message(r: httpx.Response) -> str:
    try:
        error = r.json().get("error", {})
        return str(error.get("message") or r.text)
    except ValueError:
        return f"HTTP {r.status_code}: {r.text[:200]}"
