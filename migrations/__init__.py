"""Versioned, checksummed schema migrations per dialect (see graph/migrate.py)."""
