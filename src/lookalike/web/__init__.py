"""``lookalike serve``: the search page and its JSON API (FastAPI; the ``web`` extra)."""
