"""PEP 517 build backend: OCA's whool, with the addon named ``rest_api``.

whool names the distribution after the folder that holds ``__manifest__.py``
(``odoo-addon-<folder>``). This repository is the addon, and a checkout's
folder may be called anything (``pip install git+...`` builds in a temporary
one), so each hook hands whool the checkout through a link named
``rest_api``. Everything else (metadata from the manifest, the files under
git control, the version) is whool's own.
"""

import tempfile
from contextlib import contextmanager
from pathlib import Path

from whool import buildapi

ADDON = "rest_api"


@contextmanager
def _addon_dir():
    root = Path.cwd()
    if root.name == ADDON:
        yield root
        return
    with tempfile.TemporaryDirectory() as tmp:
        link = Path(tmp) / ADDON
        link.symlink_to(root, target_is_directory=True)
        yield link


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with _addon_dir() as addon_dir:
        return buildapi._build_wheel(addon_dir, Path(wheel_directory), editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    with _addon_dir() as addon_dir:
        name = buildapi._build_wheel(addon_dir, Path(wheel_directory), editable=True)
    # whool links build/__editable__/odoo/addons/rest_api to the folder it was given:
    # point it at the checkout itself, not at the temporary link
    editable = Path.cwd() / "build" / "__editable__" / "odoo" / "addons" / ADDON
    editable.unlink()
    editable.symlink_to(Path.cwd(), target_is_directory=True)
    return name


def build_sdist(sdist_directory, config_settings=None):
    with _addon_dir() as addon_dir:
        return buildapi._build_sdist(addon_dir, Path(sdist_directory))


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    with _addon_dir() as addon_dir:
        return buildapi._make_dist_info(buildapi._get_metadata(addon_dir), Path(metadata_directory))


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel
