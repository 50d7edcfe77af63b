"""Alembic migrations of the database schema (``python -m <package> migrate`` applies them)."""
