"""policyrag api package (built out by its own issue)."""
