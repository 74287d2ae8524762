from . import side_store
from . import login_throttle
from . import cache_mixin
from . import rest_api_key
from . import rest_api_scope
from . import rest_api_token
from . import rest_api_log
from . import rest_api_docs
