"""The case library: every case the indexed documents name, merged across documents.

Derived from what the index holds, never a second source of truth: a document's mentions are read
from its indexed passages and cached beside the index (``cases.json``) under a signature of those
passages, so after an ingest only the documents that changed are read again, and a removed
document's cases go with it. Mentions of one case (same name, or a name another mention gives as
its alias) merge into one record whose every field is a list of quotes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from rag.cases.extract import ORDINAL, mentions
from rag.cases.model import FIELDS, CaseDetail, CaseQuote, CaseRecord, Mention, SimilarCase, case_key, fold
from rag.core.chunks import Chunk
from rag.core.text import content_tokens
from rag.index.retrieval import SearchIndex

logger = logging.getLogger(__name__)

FORMAT = 1  # the cache file's layout


@functools.cache
def _extractor() -> str:
    """The extraction rules' own fingerprint: when they change, every document is read again."""
    from rag.cases import extract, fields, names

    sources = (Path(str(m.__file__)).read_bytes() for m in (extract, fields, names))
    return hashlib.sha256(b"".join(sources)).hexdigest()[:16]


WEIGHTS = {"name": 4.0, "aliases": 4.0, "who": 2.0, "where": 2.0, "what": 1.0, "funding": 1.0, "outcome": 1.0,
           "mentions": 0.5}  # fmt: skip


def signature(chunks: list[Chunk]) -> str:
    """What a document's mentions are derived from: its passages' content-hash ids and its file hash."""
    h = hashlib.sha256(f"{FORMAT}:{_extractor()}:{chunks[0].doc.file_hash}".encode())
    for c in sorted(chunks, key=lambda c: c.chunk_id):
        h.update(c.chunk_id.encode())
    return h.hexdigest()[:24]


def merge(by_doc: dict[str, list[Mention]], topics: dict[str, tuple[str, ...]]) -> list[CaseRecord]:
    """One record per case: mentions grouped by name (or alias), fields joined, each quote once."""
    groups: dict[str, list[tuple[str, Mention]]] = defaultdict(list)
    alias_of: dict[str, str] = {}
    for doc_id in sorted(by_doc):
        for m in by_doc[doc_id]:
            key = case_key(m.name)
            if ORDINAL.fullmatch(m.name):  # "the first case" is a case of this document only
                key = f"{doc_id}--{key}"
            key = alias_of.get(key, key)
            groups[key].append((doc_id, m))
            for alias in m.aliases:
                alias_of.setdefault(case_key(alias), key)
    return sorted((_record(key, group, topics) for key, group in groups.items()), key=lambda r: fold(r.name))


def _record(key: str, group: list[tuple[str, Mention]], topics: dict[str, tuple[str, ...]]) -> CaseRecord:
    names = Counter(m.name for _, m in group)
    name = min(names, key=lambda n: (-names[n], len(n)))
    aliases = sorted({a for _, m in group for a in [m.name, *m.aliases] if a != name})
    fields: dict[str, list[CaseQuote]] = {f: [] for f in FIELDS}
    for _, m in group:
        for f in FIELDS:
            fields[f] += getattr(m, f)
    docs = list(dict.fromkeys(d for d, _ in group))
    return CaseRecord(
        id=key, name=name, aliases=aliases, **{f: _unique(q) for f, q in fields.items()}, documents=docs,
        mentions=_unique([m.sentence for _, m in group]),
        topics=sorted({t for d in docs for t in topics.get(d, ())}, key=str.lower),
    )  # fmt: skip


def _unique(quotes: list[CaseQuote]) -> list[CaseQuote]:
    seen: dict[tuple[str, int, int], CaseQuote] = {}
    for q in quotes:
        seen.setdefault((q.doc_id, q.char_start, q.char_end), q)
    return list(seen.values())


class CaseLibrary:
    """The cases of one index, kept in step with it (one per process, shared by requests)."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self.path: Path = index.settings.cases_path
        self._lock = threading.Lock()
        self._state: tuple[str, list[CaseRecord], dict[str, CaseRecord]] | None = None
        self._vectors: tuple[str, np.ndarray] | None = None
        self._places: tuple[str, dict[str, list[tuple[int, int, CaseRecord]]]] | None = None

    def records(self) -> list[CaseRecord]:
        """Every case, in name order; re-derived (incrementally) when the index has changed."""
        lexical = self.index.lexical
        state = self._state
        if state is None or state[0] != lexical.fingerprint:
            with self._lock:
                state = self._state
                if state is None or state[0] != lexical.fingerprint:
                    records = self._derive(lexical.chunks)
                    state = self._state = (lexical.fingerprint, records, {r.id: r for r in records})
        return state[1]

    def _derive(self, chunks: list[Chunk]) -> list[CaseRecord]:
        by_doc: dict[str, list[Chunk]] = defaultdict(list)
        for c in chunks:
            by_doc[c.doc_id].append(c)
        stored = self._load()
        docs: dict[str, dict[str, object]] = {}
        read = 0
        for doc_id, passages in by_doc.items():
            sig = signature(passages)
            entry = stored.get(doc_id)
            if entry is None or entry.get("signature") != sig:
                entry = {"signature": sig, "mentions": [m.model_dump() for m in mentions(passages)]}
                read += 1
            docs[doc_id] = entry
        if read or set(stored) != set(docs):
            logger.info("case library: read %d of %d documents again", read, len(docs))
            self._save(docs)
        by_mentions = {d: [Mention.model_validate(m) for m in e["mentions"]] for d, e in docs.items()}  # type: ignore[attr-defined]
        return merge(by_mentions, {d: p[0].doc.topics for d, p in by_doc.items()})

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return dict(data["docs"]) if data.get("format") == FORMAT else {}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("case cache at %s not usable (%s); the cases are read again", self.path, exc)
            return {}

    def _save(self, docs: dict[str, dict[str, object]]) -> None:
        """Atomically: a crash mid-write leaves the previous file, which its signatures then correct."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".cases-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"format": FORMAT, "docs": docs}, fh, ensure_ascii=False)
            Path(tmp).chmod(0o644)
            Path(tmp).replace(self.path)
        except OSError as exc:
            logger.warning("could not cache the cases at %s: %s", self.path, exc)

    # -- reading ---------------------------------------------------------------------------------
    def get(self, case_id: str) -> CaseRecord | None:
        self.records()
        assert self._state is not None
        return self._state[2].get(case_id)

    def search(
        self, q: str | None = None, doc_id: str | None = None, topic: str | None = None, limit: int = 100
    ) -> list[CaseRecord]:
        """Cases matching every filter; with ``q``, those whose fields share its words, best first."""
        out = [r for r in self.records() if (doc_id is None or doc_id in r.documents)
               and (topic is None or fold(topic) in {fold(t) for t in r.topics})]  # fmt: skip
        if q and (words := content_tokens(fold(q))):
            scored = [(s, r) for r in out if (s := self._match(words, r)) > 0]
            scored.sort(key=lambda sr: -sr[0])
            out = [r for _, r in scored]
        return out[:limit]

    @staticmethod
    def _match(words: frozenset[str], r: CaseRecord) -> float:
        texts = {"name": [r.name], "aliases": r.aliases, "mentions": [m.quote for m in r.mentions]}
        texts |= {f: [q.quote for q in r.field(f)] for f in FIELDS}
        score = 0.0
        for part, values in texts.items():
            have = content_tokens(fold(" ".join(values)))
            score += WEIGHTS[part] * len(words & have) / len(words)
        named = (values for part, values in texts.items() if part != "mentions")  # a sentence naming two cases
        return score if any(words <= content_tokens(fold(" ".join(t))) for t in named) else 0.0

    def detail(self, case_id: str, k: int = 3) -> CaseDetail | None:
        """A case with its nearest others, by the embedding of each case's name and what it did."""
        record = self.get(case_id)
        if record is None:
            return None
        records = self.records()
        vecs = self._embedded(records)
        i = next(n for n, r in enumerate(records) if r.id == case_id)
        sims = vecs @ vecs[i]
        order = [j for j in np.argsort(-sims) if j != i][:k]
        similar = [SimilarCase(id=records[j].id, name=records[j].name, score=round(float(sims[j]), 4)) for j in order]
        return CaseDetail(**record.model_dump(), similar=similar)

    def _embedded(self, records: list[CaseRecord]) -> np.ndarray:
        fp = self._state[0] if self._state else ""
        if self._vectors is None or self._vectors[0] != fp:
            texts = [" ".join([r.name, *(q.quote for q in r.what[:2])]) for r in records]
            vecs = np.asarray(self.index.embeddings.embed_documents(texts), dtype=np.float32)
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
            self._vectors = (fp, vecs)
        return self._vectors[1]

    def naming(self, doc_id: str, start: int, end: int, text: str, question: str = "") -> CaseRecord | None:
        """The case a sentence (``text`` at ``start:end`` of ``doc_id``) is a mention of; of two
        it names ("Sunderland's back office, and the Open Data Institute"), the one ``question``
        names ("Who set up the Open Data Institute?"), else the one named first."""
        by_doc = self._mentions()
        found = {r.id: r for s, e, r in by_doc.get(doc_id, ()) if s < end and start < e}
        if len(found) < 2:
            return next(iter(found.values()), None)
        asked = fold(question)
        if chosen := [r for r in found.values() if any(fold(n) in asked for n in (r.name, *r.aliases))]:
            found = {r.id: r for r in chosen}
        folded = fold(text)

        def first(r: CaseRecord) -> int:
            at = [folded.find(fold(n)) for n in (r.name, *r.aliases)]
            return min((a for a in at if a >= 0), default=len(folded))

        return min(found.values(), key=first)

    def mentioned(self, question: str, chunk_ids: set[str]) -> list[CaseRecord]:
        """The cases ``question`` names (every word of a name or alias, accents and quotes folded;
        a name of two words at least, or one a word's length) that a mention in ``chunk_ids`` states."""
        asked = content_tokens(fold(question))
        out = []
        for r in self.records():
            names = [content_tokens(fold(n)) for n in (r.name, *r.aliases)]
            if any(n and n <= asked and (len(n) > 1 or len(next(iter(n))) > 3) for n in names) and any(
                m.chunk_id in chunk_ids for m in r.mentions
            ):
                out.append(r)
        return out

    def _mentions(self) -> dict[str, list[tuple[int, int, CaseRecord]]]:
        """Every mention's place, by document, for the present records."""
        records = self.records()
        fp = self._state[0] if self._state else ""
        if self._places is None or self._places[0] != fp:
            places: dict[str, list[tuple[int, int, CaseRecord]]] = defaultdict(list)
            for r in records:
                for m in r.mentions:
                    places[m.doc_id].append((m.char_start, m.char_end, r))
            self._places = (fp, dict(places))
        return self._places[1]

    def cited(self, spans: list[tuple[str, int, int]]) -> list[CaseRecord]:
        """The cases whose sentences hold one of ``spans`` (doc id, start, end): an answer's cases."""
        places = self._mentions()
        hit = {id(r) for d, s, e in spans for start, end, r in places.get(d, ()) if s < end and start < e}
        return [r for r in self.records() if id(r) in hit]
