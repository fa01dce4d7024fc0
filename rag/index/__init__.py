"""The index: the embedder, the Chroma chunk store, the BM25 side, document cards, hybrid search."""
