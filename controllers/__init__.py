from . import dispatcher
from . import main
