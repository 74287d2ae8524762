"""Time the OpenAPI and Postman documents of an all-models caller (admin).

Run inside Odoo's shell on a database with rest_api installed:
    odoo shell -d DB --no-http < tools/docs_build_time.py
Prints: cold (a new worker), cached, after a key/scope/ACL change, then Postman.
"""

import time

docs = env(user=env.ref("base.user_admin"))["rest.api.docs"]  # noqa: F821 - odoo shell's env
count = len(docs._reachable(None))


def timed(label, kind="openapi"):
    start = time.perf_counter()
    body = docs._document(kind, max_page_size=1000, base_url="http://localhost:8069")
    took = (time.perf_counter() - start) * 1000
    print(f"{kind:8} {label:36} {count} models  {len(body) / 1e6:5.2f} MB  {took:7.0f} ms")  # noqa: T201


timed("cold (new worker)")
timed("cached")
docs.env.registry.clear_cache()  # what a key, scope or access-right change does
timed("after a key/scope/ACL change")
timed("after the OpenAPI document", "postman")
