"""ORM tables of this domain (subclass node.models.Base; add a migration branch for them)."""
