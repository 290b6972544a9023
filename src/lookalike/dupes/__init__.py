"""Duplicate clean-up: find copies in folders (`find`), the records it returns
(`records`), and the actions taken on them (`actions`)."""
