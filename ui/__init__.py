"""The Streamlit chat UI. It reaches the library only through the HTTP API."""
