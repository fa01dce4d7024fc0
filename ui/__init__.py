"""policyrag ui package (built out by its own issue)."""
