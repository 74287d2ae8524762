from . import test_key_model
from . import test_routes
from . import test_access
from . import test_tokens
from . import test_docs
from . import test_admin
from . import test_ui
from . import test_reliability
