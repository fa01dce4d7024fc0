"""``python -m rag.modes``: retrain the mode classifier."""

from rag.modes import main

raise SystemExit(main())
