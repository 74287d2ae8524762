{
    "name": "REST API",
    "summary": "REST API for Odoo: API keys, JWT login tokens, scopes, throttling, "
    "OpenAPI, Swagger UI and Postman",
    "version": "18.0.1.1.0",
    "category": "Extra Tools",
    "author": "rest_api developers",
    "website": "https://github.com/rest-api/rest_api",
    "license": "LGPL-3",
    "maintainers": ["rest-api"],
    "development_status": "Beta",
    "depends": ["base", "web", "base_setup"],
    "external_dependencies": {
        "python": [
            "PyJWT",
            "apispec",
            "marshmallow",
            "swagger-ui-py",
            "standardwebhooks",
            "cryptography",
            "orjson",
        ]
    },
    "data": [
        "security/rest_api_groups.xml",
        "security/ir.model.access.csv",
        "security/rest_api_rules.xml",
        "data/rest_api_data.xml",
        "views/rest_api_key_views.xml",
        "views/rest_api_token_views.xml",
        "views/rest_api_log_views.xml",
        "views/rest_api_webhook_views.xml",
        "views/rest_api_wizard_views.xml",
        "views/res_users_views.xml",
        "views/res_config_settings_views.xml",
        "views/rest_api_menus.xml",
    ],
    "assets": {
        "web.assets_tests": ["rest_api/static/tests/tours/*.js"],
    },
    "uninstall_hook": "uninstall_hook",
    "installable": True,
    "application": False,
}
