"""policyrag core: settings, embeddings, store access, lexical index and retrieval.

Every other package builds on this one; nothing here loads a model or opens a database at import.
"""

__version__ = "0.1.0"
