{
    "name": "REST API",
    "summary": "REST API for Odoo: API keys, JWT login tokens, scopes, throttling, "
    "OpenAPI, Swagger UI and Postman",
    "version": "18.0.1.0.0",
    "category": "Extra Tools",
    "author": "rest_api developers",
    "website": "https://github.com/rest-api/rest_api",
    "license": "LGPL-3",
    "depends": ["base", "web"],
    "external_dependencies": {"python": ["jwt", "apispec", "marshmallow"]},
    "data": [],
    "installable": True,
    "application": False,
}
