"""Export i18n/rest_api.pot from a throwaway database (``make pot``).

The odoo stage of ``make test`` fails when the file differs from a fresh
export (dates aside): run this after changing a string users see.
"""

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_tests import REPORTS, ROOT, Odoo  # noqa: E402
from testkit import Cluster  # noqa: E402


def main():
    REPORTS.mkdir(exist_ok=True)
    cluster = Cluster()
    cluster.start()
    try:
        odoo = Odoo(cluster)
        if not odoo.install(REPORTS / "pot-install.log", "rest_api_pot"):
            return 1
        target = Path(tempfile.mkdtemp()) / "rest_api.pot"
        odoo.run(REPORTS / "pot.log", "-d", "rest_api_pot", "--i18n-export", str(target), "--modules=rest_api",
                 "--stop-after-init", "--no-http")  # fmt: skip
        if not target.exists():
            print("pot: the export failed, see .reports/pot.log")
            return 1
        (ROOT / "i18n").mkdir(exist_ok=True)
        shutil.copy(target, ROOT / "i18n" / "rest_api.pot")
        print("pot: wrote i18n/rest_api.pot")
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
