"""``python -m rag.answer.modes``: retrain the mode classifier."""

from rag.answer.modes import main

raise SystemExit(main())
