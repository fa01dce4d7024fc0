"""Answering: the stages from question to verified ``Answer`` (retrieve, gate, draft, verify)."""
