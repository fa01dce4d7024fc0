"""The case library: named initiatives the documents say did something, with quoted fields."""
