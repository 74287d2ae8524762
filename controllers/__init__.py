from . import dispatcher
from . import main
from . import docs
from . import route_table
