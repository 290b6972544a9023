"""Executors for the work that runs in parallel: decoding and keypoint verification.

:mod:`lookalike.engines.local` is the default (worker processes on this machine).
"""
