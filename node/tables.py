"""Every ORM table of the node, for Alembic: each domain keeps its tables in its own module."""

from node import models
from node.directives import models as directive_models
from node.ops import models as ops_models
from node.views import models as view_models

metadata = models.Base.metadata
__all__ = ["directive_models", "metadata", "ops_models", "view_models"]
