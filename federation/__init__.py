"""Replication between tiers: knows no FastAPI and no SQLAlchemy, only peers and stores."""
