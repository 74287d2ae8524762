"""Pure-Python core of rest_api: no import of odoo anywhere below this folder.

Everything Odoo-specific (field metadata, the clock, the store, settings)
comes in as arguments, so this package is unit-tested without a database.
"""
