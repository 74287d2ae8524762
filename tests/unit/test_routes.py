import pytest
from conftest import load_route_table

from lib import errors, routes

TABLE = load_route_table()


@pytest.mark.parametrize(
    "method,path,name,params",
    [
        ("GET", "/api/res.partner/search", "search", {"model": "res.partner"}),
        ("HEAD", "/api/res.partner/search", "search", {"model": "res.partner"}),
        ("GET", "/api/res.partner/schema", "schema", {"model": "res.partner"}),
        ("GET", "/api/res.partner/record_count", "record_count", {"model": "res.partner"}),
        ("POST", "/api/res.partner/create", "create", {"model": "res.partner"}),
        ("POST", "/api/res.partner/execute_kw", "execute_kw", {"model": "res.partner"}),
        ("GET", "/api/res.partner/7", "read", {"model": "res.partner", "id": 7}),
        ("PUT", "/api/res.partner/7", "update", {"model": "res.partner", "id": 7}),
        ("PATCH", "/api/res.partner/7", "patch", {"model": "res.partner", "id": 7}),
        ("DELETE", "/api/res.partner/7", "delete", {"model": "res.partner", "id": 7}),
    ],
)
def test_resolve(method, path, name, params):
    route, found = routes.resolve(method, path, TABLE)
    assert (route.name, found) == (name, params)


@pytest.mark.parametrize(
    "path",
    [
        "/api",
        "/api/",
        "/api/no_such_route",
        "/api/res.partner/search/more",
        "/api/res.partner/7/more",
        "/api/res.partner/0",
        "/api/res.partner/-1",
        "/api/res.partner/2147483648",
        "/api/Res.Partner/search",
        "/api/res.partner;drop/search",
        "/apix/res.partner/search",
    ],
)
def test_unknown_paths_are_404(path):
    with pytest.raises(errors.NotFound):
        routes.resolve("GET", path, TABLE)


@pytest.mark.parametrize(
    "method,path,allowed",
    [
        ("DELETE", "/api/res.partner/search", {"GET", "HEAD", "OPTIONS"}),
        ("GET", "/api/res.partner/create", {"POST", "OPTIONS"}),
        ("POST", "/api/res.partner/7", {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}),
    ],
)
def test_wrong_method_is_405_with_allow(method, path, allowed):
    with pytest.raises(errors.MethodNotAllowed) as caught:
        routes.resolve(method, path, TABLE)
    assert set(caught.value.headers["Allow"].split(", ")) == allowed


def test_every_route_has_a_unique_method_and_path():
    seen = {(r.method, r.segments) for r in TABLE}
    assert len(seen) == len(TABLE)
    assert len({r.name for r in TABLE}) == len(TABLE)


def test_every_route_names_its_handler_and_a_known_auth_policy():
    for route in TABLE:
        assert callable(route.handler), route.name
        assert route.auth in ("user", "key", "docs", "oauth"), route.name
        assert not (route.operation and route.operations), route.name


def test_literal_routes_win_over_model_routes():
    route, params = routes.resolve("POST", "/api/auth/login", TABLE)
    assert (route.name, params) == ("auth_login", {})


def test_allowed_methods_for_preflight():
    assert routes.allowed_methods("/api/res.partner/7", TABLE) == ["DELETE", "GET", "PATCH", "PUT"]
    assert routes.allowed_methods("/api/nothing/here/at/all", TABLE) == []
