"""policyrag evals package (built out by its own issue)."""
