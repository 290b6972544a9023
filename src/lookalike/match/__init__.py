"""The matching engine: candidates, the layered cascade, verification, grouping.

`dupes`, `docs` and `search` all call these modules, so a pair one command finds the
others find too. Data flows features -> candidates -> cascade (cheap layers, then local
features verified in worker processes) -> groups.
"""
