"""Make the addon root importable so unit tests can ``from lib import ...`` without Odoo."""

import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# pytest >= 8 turns the addon root (it has an __init__.py) into a Package node and
# imports that __init__.py, under the directory's name, before every test here. That
# file loads Odoo models, which only work when Odoo imports them as odoo.addons.<name>,
# so every unit test would error in setup. Unit tests only need lib/: pre-register an
# empty package under the name pytest would use, so its import is a no-op.
if ROOT.name not in sys.modules:
    _stub = types.ModuleType(ROOT.name)
    _stub.__file__ = str(ROOT / "__init__.py")
    _stub.__path__ = []
    sys.modules[ROOT.name] = _stub
