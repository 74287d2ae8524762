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


def load_route_table():
    """The real route table (controllers/route_table.py), its handler modules stubbed:
    the handlers need Odoo, the table's routes, OpenAPI operations and Postman examples do not."""
    package = ROOT.name
    sys.modules[package].__path__ = [str(ROOT)]  # so that its relative imports reach lib/
    controllers = types.ModuleType(f"{package}.controllers")
    controllers.__path__ = [str(ROOT / "controllers")]
    sys.modules[controllers.__name__] = controllers

    class Handlers(types.ModuleType):
        def __getattr__(self, name):
            def handler(call):
                raise AssertionError(f"{self.__name__}.{name} needs Odoo")

            handler.__name__ = name
            return handler

    for name in ("docs", "handlers", "tokens", "oauth"):
        sys.modules[f"{package}.controllers.{name}"] = Handlers(f"{package}.controllers.{name}")
        setattr(controllers, name, sys.modules[f"{package}.controllers.{name}"])
    import importlib

    return importlib.import_module(f"{package}.controllers.route_table").ROUTES
