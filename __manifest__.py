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
    "external_dependencies": {"python": ["PyJWT", "apispec", "marshmallow", "swagger-ui-py"]},
    "data": [
        "security/rest_api_groups.xml",
        "security/ir.model.access.csv",
        "security/rest_api_rules.xml",
        "data/rest_api_data.xml",
    ],
    "installable": True,
    "application": False,
}
