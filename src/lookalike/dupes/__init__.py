"""Duplicate clean-up: find copies in folders (`find`), the records it returns
(`records`), and the actions taken on them (`actions`)."""

from lookalike.dupes.find import DupesOptions, find_duplicates
from lookalike.dupes.records import DuplicateReport, Group, Member, Pair

__all__ = ["DupesOptions", "DuplicateReport", "Group", "Member", "Pair", "find_duplicates"]
