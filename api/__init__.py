"""The HTTP API: an app factory, dependencies, thin routes; the logic lives in ``rag`` and ``ingest``."""
