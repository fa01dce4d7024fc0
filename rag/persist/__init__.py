"""What policyrag keeps in SQL: the writer lease and feedback."""
