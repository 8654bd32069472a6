"""Alembic migrations of a node's database (applied on start and by `tiersync db upgrade`)."""
