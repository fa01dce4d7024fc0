"""The shared core every stage stands on: settings, the search models, text handling, observability."""
