"""Odoo and PostgreSQL plumbing that is not a model: side connections, the
throttle service, field metadata, the search page, the companies' paths, and
Odoo's patches."""

from . import worker_cache
from . import company_paths
from . import side_store
from . import throttle
from . import field_meta
from . import search_page
from . import patches

patches.install()
