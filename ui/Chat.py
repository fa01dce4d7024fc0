"""policyrag chat: ask the library, read cited answers, check each source, export a briefing.

Run with ``policyrag ui``. Everything goes through the HTTP API (``POLICYRAG_API_URL``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from rag.core.chunks import page_label
from rag.export import references, to_docx, to_markdown
from ui.client import ApiError, ApiUnavailable
from ui.render import answer_markdown, ask_prompt, card_meta, highlight, plain, refusal_documents
from ui.session import client, or_stop

MODES = {"Auto": "auto", "How-to (steps)": "howto", "Precedent (cases)": "precedent", "Explain": "explain"}
MODE_NAMES = {value: label for label, value in MODES.items() if value != "auto"}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

st.set_page_config(page_title="policyrag", page_icon="📚", layout="centered")
state = st.session_state


def library() -> list[dict[str, Any]]:
    if "library" not in state:
        state.library = client().documents()
    return state.library


state.setdefault("turns", [])  # [{"question", "answer" (Answer dict), "feedback"}]

st.title("policyrag")
st.caption(
    "Answers from the policy library. Every sentence cites the passage it stands on; "
    "when the library does not cover a question, it says so."
)

docs = or_stop(library)
by_id = {d["doc_id"]: d for d in docs}

# -- sidebar -------------------------------------------------------------------------------------
with st.sidebar:
    st.header("Conversation")
    if st.button("New conversation", use_container_width=True):
        state.turns = []
        st.rerun()
    mode_label = st.selectbox("Answer style", list(MODES), help="Auto picks from the wording of the question.")
    k = st.slider("Sources to answer from", min_value=1, max_value=12, value=6)
    with st.expander("Filters"):
        chosen_docs = st.multiselect("Documents", list(by_id), format_func=lambda d: by_id[d]["title"])
        types = sorted({d["doc_type"] for d in docs if d.get("doc_type")})
        chosen_types = st.multiselect("Document type", types)
        topics = sorted({t for d in docs for t in d.get("topics", [])})
        chosen_topics = st.multiselect("Topics", topics)
        kinds = sorted({d["evidence_type"] for d in docs if d.get("evidence_type")})
        chosen_kinds = st.multiselect(
            "Evidence type", kinds, help="What kind of source: research, guidance, opinion ..."
        )
        places = sorted({d["jurisdiction"] for d in docs if d.get("jurisdiction")})
        chosen_places = st.multiselect("Jurisdiction", places)
        levels = sorted({d["level"] for d in docs if d.get("level")})
        chosen_levels = st.multiselect("Level of government", levels)
        current_only = st.checkbox("Current documents only", help="Leave out superseded documents and those past "
                                   "their review date.")  # fmt: skip
        date_from = st.date_input("Published from", value=None, min_value=date(1900, 1, 1))
        date_to = st.date_input("Published to", value=None, min_value=date(1900, 1, 1))
    if state.turns:
        st.header("Export conversation")
        st.download_button("Markdown", to_markdown(state.turns), "policyrag-briefing.md", "text/markdown",
                           use_container_width=True)  # fmt: skip
        st.download_button("Word", to_docx(state.turns), "policyrag-briefing.docx", DOCX, use_container_width=True)
    st.header("Library")
    st.caption(f"{len(docs)} documents")
    for d in docs:
        meta = card_meta(d, "")
        st.markdown(f"**{plain(d['title'])}**  \n{plain(meta or 'no author or date stated')} · {d['chunks']} passages")
    if "admin_client" in state:
        st.header("Add a document")
        upload = st.file_uploader("Markdown, text, HTML, PDF or Word", type=["md", "txt", "html", "htm", "pdf", "docx"])
        if upload is not None and st.button("Add to the library"):
            try:
                state.admin_client.upload(upload.name, upload.getvalue())
            except (ApiError, ApiUnavailable) as exc:
                st.error(str(exc))
            else:
                state.pop("library", None)
                st.success(f"Added {upload.name}; it is searchable now.")


def filters() -> dict[str, Any] | None:
    f: dict[str, Any] = {}
    if chosen_docs:
        f["doc_ids"] = chosen_docs
    if chosen_types:
        f["doc_types"] = chosen_types
    if chosen_topics:
        f["topics"] = chosen_topics
    for key, chosen in (("evidence_types", chosen_kinds), ("jurisdictions", chosen_places), ("levels", chosen_levels)):
        if chosen:
            f[key] = chosen
    if current_only:
        f["current_only"] = True
    if date_from:
        f["date_from"] = date_from.isoformat()
    if date_to:
        f["date_to"] = date_to.isoformat()
    return f or None


# -- one answer ------------------------------------------------------------------------------------
def reanswer(turn: dict[str, Any], mode: str) -> None:
    """The same question (history, filters and all) answered again in another style."""
    body = {**turn.get("body", {"question": turn["question"]}), "mode": mode}
    try:
        final = next((data for event, data in client().ask_stream(body) if event == "answer"), None)
    except (ApiError, ApiUnavailable) as exc:
        st.error(str(exc))
        return
    if final is not None:
        turn.update(answer=final, body=body, feedback=None)


def show_answer(i: int, turn: dict[str, Any]) -> None:
    answer = turn["answer"]
    if answer.get("refused"):
        st.warning(answer_markdown(answer["answer"]), icon="🔎")
        closest = refusal_documents(answer)
        if closest:
            st.markdown("Closest documents: " + "; ".join(f"*{plain(t)}*" for t in closest))
        return
    st.markdown(answer_markdown(answer["answer"]))
    chosen = str(answer.get("mode", ""))
    others = [m for m in MODE_NAMES if m != chosen]
    st.caption(f"Answered as: {MODE_NAMES.get(chosen, chosen)}. Another style, in one click:")
    for col, mode in zip(st.columns(len(others)), others, strict=True):
        if col.button(MODE_NAMES[mode], key=f"mode{i}{mode}", use_container_width=True):
            reanswer(turn, mode)
            st.rerun()
    if answer.get("fallback"):
        st.caption("The language model's draft could not be verified; this answer quotes the sources directly.")
    if answer.get("cases"):
        st.markdown("**Cases in this answer** (open one in the case library)")
        for case in answer["cases"]:
            st.page_link("pages/2_Cases.py", label=case["name"], query_params={"case": case["id"]}, icon="📁")
    st.markdown("**Sources**")
    for ref in references(answer):  # one card per document, every quote from it highlighted
        numbers = " ".join(f"[{q['n']}]" for q in ref["quotes"])
        with st.expander(f"{numbers} {plain(ref['title'])}"):
            meta = card_meta(by_id.get(ref["doc_id"]), "")
            kind = ", ".join(x for x in (ref.get("evidence_type"), ref.get("jurisdiction")) if x)
            if meta or kind:
                st.caption(plain(" · ".join(x for x in (kind, meta) if x)))
            if ref.get("warning"):
                st.warning(plain(ref["warning"]))
            for q in ref["quotes"]:
                st.markdown(
                    highlight(q["passage"], q["quote"], bool(q.get("highlight")), q.get("highlights") or ()),
                    unsafe_allow_html=True,
                )
                where = f"{plain(q['section'])}, " if q.get("section") else ""
                page = page_label(q.get("page_start"), q.get("page_end"))
                where += f"{page}, " if page else ""
                st.caption(f"[{q['n']}] {where}{ref['doc_id']}, characters {q['char_start']}–{q['char_end']}")
    cols = st.columns(4)
    cols[0].download_button("Markdown", to_markdown([turn]), f"answer-{i + 1}.md", "text/markdown", key=f"md{i}",
                            help="Download this answer as Markdown")  # fmt: skip
    cols[1].download_button("Word", to_docx([turn]), f"answer-{i + 1}.docx", DOCX, key=f"docx{i}",
                            help="Download this answer as a Word briefing note")  # fmt: skip
    if turn.get("feedback"):
        st.caption(f"Thank you: your feedback ({turn['feedback']}) was recorded.")
        return
    comment = st.text_input("Was this useful? Comment (optional)", key=f"comment{i}",
                            placeholder="What was wrong or useful?")  # fmt: skip
    for col, rating, text in ((cols[2], "up", "Helpful"), (cols[3], "down", "Not helpful")):
        if col.button(text, key=f"{rating}{i}", use_container_width=True):
            try:
                client().feedback(turn["question"], answer["answer"], rating, comment, answer.get("citations", []))
            except (ApiError, ApiUnavailable) as exc:
                st.error(f"Feedback was not recorded: {exc}")
            else:
                turn["feedback"] = rating
                st.rerun()


for i, turn in enumerate(state.turns):
    with st.chat_message("user"):
        st.markdown(plain(turn["question"]))
    with st.chat_message("assistant"):
        show_answer(i, turn)

question = st.chat_input(ask_prompt(docs))
if question:
    with st.chat_message("user"):
        st.markdown(plain(question))
    history: list[dict[str, str]] = []
    for t in state.turns[-4:]:
        history += [{"role": "user", "content": t["question"]}, {"role": "assistant", "content": t["answer"]["answer"]}]
    body = {"question": question, "history": history or None, "mode": MODES[mode_label], "k": k, "filters": filters()}
    with st.chat_message("assistant"):
        shown = st.empty()
        text, final = "", None
        try:
            for event, data in client().ask_stream(body):
                if event == "delta":
                    text += data["text"]
                    shown.markdown(answer_markdown(text) + " ▌")
                elif event == "answer":
                    final = data
                elif event == "error":
                    st.error(data.get("message", "The answer failed."))
        except (ApiError, ApiUnavailable) as exc:
            st.error(str(exc))
    if final is not None:
        state.turns.append({"question": question, "answer": final, "feedback": None, "body": body})
        st.rerun()
