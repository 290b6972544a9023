"""`python -m lookalike` is the `lookalike` command."""

from lookalike.cli import entry

entry()
