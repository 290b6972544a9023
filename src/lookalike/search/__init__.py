"""Similar-image search: persistent collections over :mod:`lookalike.store`, ranked by the
matching engine (:mod:`lookalike.match`)."""
