#!/usr/bin/env python3
"""What OAuth costs per call (API.md section 14), against a live server.

Prints the median time of the same search called with a login token (with its
key, as section 1 says) and with an OAuth access token alone in
``Authorization: Bearer`` (the same key and user), and how long the token
endpoint takes to answer a refresh (rotation included).

    python3 tools/bench_oauth.py --url http://127.0.0.1:8069 --db rest_api_demo [--calls 300]

It sets itself up over XML-RPC as admin: an OAuth client key (public, all
models) owned by admin, a login through /api/auth/login, and one authorization
code flow through Odoo's login and consent pages.
"""

import argparse
import base64
import hashlib
import re
import secrets
import statistics
import time
import xmlrpc.client
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

REDIRECT = "com.example.bench:/oauth"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", default="rest_api_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    url = args.url.rstrip("/")

    common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
    uid = common.authenticate(args.db, args.login, args.password, {})
    rpc = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")

    def admin(model, method, *a, **kw):
        return rpc.execute_kw(args.db, uid, args.password, model, method, list(a), kw)

    key = admin("rest.api.key", "generate", {"name": "bench oauth", "user_id": uid, "all_models": True,
                                              "rate_limit": 0, "oauth_redirect_uris": REDIRECT,
                                              "require_user_token": True})  # fmt: skip
    client_id = admin("rest.api.key", "read", [key["id"]], ["oauth_client_id"])[0]["oauth_client_id"]

    # a login token, with its key
    login = requests.post(f"{url}/api/auth/login", headers={"api-key": key["key"]}, timeout=60,
                          json={"login": args.login, "password": args.password}).json()  # fmt: skip
    # an OAuth access token and refresh token: the code flow, as a browser without JavaScript
    web = requests.Session()
    page = web.get(f"{url}/web/login", timeout=60)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    web.post(f"{url}/web/login", data={"csrf_token": csrf, "login": args.login, "password": args.password},
             timeout=60)  # fmt: skip
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "state": "bench",
              "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
    page = web.get(f"{url}/api/oauth/authorize?" + urlencode(params), allow_redirects=False, timeout=60)
    if page.status_code != 302:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        page = web.post(f"{url}/api/oauth/authorize", data={**params, "csrf_token": csrf, "decision": "allow"},
                        allow_redirects=False, timeout=60)  # fmt: skip
    code = dict(parse_qsl(urlsplit(page.headers["Location"]).query))["code"]
    oauth = requests.post(f"{url}/api/oauth/token", timeout=60, data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": REDIRECT,
        "client_id": client_id}).json()  # fmt: skip
    assert "access_token" in oauth, oauth

    path = f"{url}/api/res.partner/search?fields=name&limit=5"
    runs = {
        "login token + key": (requests.Session(), {"api-key": key["key"], "token": login["access_token"]}),
        "OAuth token alone": (requests.Session(), {"Authorization": "Bearer " + oauth["access_token"]}),
    }
    for session, headers in runs.values():  # warm both: connections and every worker's caches
        for _ in range(20):
            assert session.get(path, headers=headers, timeout=60).status_code == 200
    timings = {name: [] for name in runs}
    for _ in range(args.calls):  # interleaved, so that both see the same server load
        for name, (session, headers) in runs.items():
            started = time.perf_counter()
            response = session.get(path, headers=headers, timeout=60)
            timings[name].append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    for name, value in medians.items():
        print(f"search with {name:<20} median {value:7.2f} ms  p90 {_p90(timings[name]):7.2f} ms")
    print(f"ratio OAuth / login token: {medians['OAuth token alone'] / medians['login token + key']:.3f}")

    refresh, token_session = [], requests.Session()
    current = oauth["refresh_token"]
    for _ in range(50):
        started = time.perf_counter()
        answer = token_session.post(f"{url}/api/oauth/token", timeout=60, data={
            "grant_type": "refresh_token", "refresh_token": current, "client_id": client_id})  # fmt: skip
        refresh.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
        current = answer.json()["refresh_token"]
    print(f"token endpoint, refresh: median {statistics.median(refresh) * 1000:7.2f} ms  "
          f"p90 {_p90(refresh):7.2f} ms  max {max(refresh) * 1000:7.2f} ms")  # fmt: skip
    admin("rest.api.key", "write", [key["id"]], {"active": False})


def _p90(values):
    return sorted(values)[int(len(values) * 0.9)] * 1000


if __name__ == "__main__":
    main()
