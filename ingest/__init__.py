"""policyrag's write path: load, chunk, embed and store documents, incrementally."""
