"""What every page shares: the API clients of this browser session, and the one way an API
failure is shown (a plain error, then the page stops)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from ui.client import ApiClient, ApiError, ApiUnavailable
from ui.settings import UiSettings

T = TypeVar("T")


def client() -> ApiClient:
    """The session's reader client (and an admin client beside it when the UI has an admin key)."""
    state = st.session_state
    if "client" not in state:
        settings = UiSettings()
        key = settings.api_key.get_secret_value() if settings.api_key else None
        state.client = ApiClient(settings.api_url, key)
        if settings.ui_admin_key:
            state.admin_client = ApiClient(settings.api_url, settings.ui_admin_key.get_secret_value())
    reader: ApiClient = state.client
    return reader


def or_stop(call: Callable[[], T]) -> T:
    """``call()``, or a plain error and the end of the page when the API is down or refuses."""
    try:
        return call()
    except ApiUnavailable as exc:
        st.error(f"{exc} Start it with `policyrag serve`, or set POLICYRAG_API_URL.", icon="⚠️")
    except ApiError as exc:
        st.error(f"The API refused the request: {exc}", icon="⚠️")
    st.stop()
    raise AssertionError("st.stop() ends the script run")  # pragma: no cover
