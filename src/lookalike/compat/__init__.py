"""Drop-in replacements for other libraries' APIs, computed with lookalike's code.

* :mod:`lookalike.compat.imagehash`: imagehash 4.3.2's names, value types and hash values
  (``import lookalike.compat.imagehash as imagehash``).
"""
