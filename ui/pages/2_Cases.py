"""Cases: the precedent cases the library names, searchable; a case opens with its quotes marked.

Every field is a verbatim quote of a document with where it is, or "not stated". Everything comes
from the API (``GET /v1/cases``, ``GET /v1/cases/{id}``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.render import CASE_FIELDS, case_sentence, cases_placeholder, first_quote, plain
from ui.session import client, or_stop

st.set_page_config(page_title="policyrag · Cases", page_icon="📚", layout="wide")
st.title("Cases")
st.caption(
    "Initiatives, organisations and places the documents say did something. Each field quotes the "
    "document, or says “not stated”: nothing here is paraphrased."
)


def show_case(case: dict[str, Any]) -> None:
    st.subheader(plain(case["name"]))
    if case.get("aliases"):
        st.caption("Also called: " + "; ".join(plain(a) for a in case["aliases"]))
    for name, label in CASE_FIELDS.items():
        quotes = case.get(name) or []
        if not quotes:
            st.markdown(f"**{label}:** *not stated*")
        for q in quotes:
            st.markdown(f"**{label}:** “{plain(q['quote'])}”  \n"
                        f"<small>{plain(q['title'])} ({q['doc_id']}, characters {q['char_start']}–{q['char_end']})"
                        "</small>", unsafe_allow_html=True)  # fmt: skip
    st.markdown("**Where the documents name it**")
    for m in case.get("mentions", []):
        st.markdown(f"<blockquote>{case_sentence(m, case)}</blockquote>", unsafe_allow_html=True)
        st.caption(f"{m['title']} · {m['doc_id']}, characters {m['char_start']}–{m['char_end']}")
    similar = case.get("similar") or []
    if similar:
        st.markdown("**Similar cases**")
        for s in similar:
            if st.button(f"{s['name']} (similarity {s['score']:.2f})", key=f"similar-{s['id']}"):
                st.query_params["case"] = s["id"]
                st.rerun()


every = or_stop(lambda: client().cases(None))
query = st.text_input("Search cases", value=st.query_params.get("q", ""), placeholder=cases_placeholder(every))
cases = or_stop(lambda: client().cases(query or None))

if not cases:
    st.info("No case matches." if query else "The library names no cases yet. Ingest documents first.")
rows = [{"Case": c["name"], **{label: first_quote(c, name) for name, label in CASE_FIELDS.items()},
         "Documents": ", ".join(c["documents"])} for c in cases]  # fmt: skip
if rows:
    st.dataframe(rows, hide_index=True, use_container_width=True)
ids = [c["id"] for c in cases]
if st.session_state.get("cases_query", query) != query:  # a new search opens its best match
    st.query_params.pop("case", None)
st.session_state.cases_query = query
wanted = st.query_params.get("case")
if wanted and wanted not in ids:
    ids = [wanted, *ids]
names = {c["id"]: c["name"] for c in cases}
if ids:
    chosen = st.selectbox("Open a case", ids, index=ids.index(wanted) if wanted in ids else 0,
                          format_func=lambda i: names.get(i, i))  # fmt: skip
    show_case(or_stop(lambda: client().case(chosen)))
