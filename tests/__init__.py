from . import test_key_model
from . import test_routes
from . import test_access
from . import test_tokens
from . import test_reliability
