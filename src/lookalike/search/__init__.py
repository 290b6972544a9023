"""Similar-image search: persistent collections over :mod:`lookalike.store`, ranked by the
matching engine (:mod:`lookalike.match`)."""

from lookalike.search.collection import Collection, SearchHit, SearchResult, UpdateStats

__all__ = ["Collection", "SearchHit", "SearchResult", "UpdateStats"]
