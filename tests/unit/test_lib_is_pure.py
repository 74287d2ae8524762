"""lib/ must stay importable without Odoo: no module under it may import odoo."""

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "lib"


def _odoo_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "odoo"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module] if node.module.split(".")[0] == "odoo" else []
    return found


def test_lib_is_pure():
    files = sorted(LIB.rglob("*.py"))
    assert files, "lib/ has no python files"
    offenders = {str(path.relative_to(LIB)): _odoo_imports(path) for path in files}
    assert {name: imports for name, imports in offenders.items() if imports} == {}
