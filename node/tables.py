"""Every ORM table of the node, for Alembic: each domain keeps its tables in its own module."""

from node import models
from node.access import models as access_models
from node.bundles import models as bundle_models
from node.digests import models as digest_models
from node.directives import models as directive_models
from node.origins import models as origin_models
from node.privacy import models as privacy_models
from node.reveals import models as reveal_models
from node.views import models as view_models

metadata = models.Base.metadata
__all__ = [
    "access_models",
    "bundle_models",
    "digest_models",
    "directive_models",
    "metadata",
    "origin_models",
    "privacy_models",
    "reveal_models",
    "view_models",
]
