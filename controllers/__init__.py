from . import dispatcher
from . import main
from . import outage
from . import dblist
