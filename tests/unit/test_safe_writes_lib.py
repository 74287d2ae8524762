"""lib/idempotency.py and lib/batch.py: what a key is, what "the same request" is, batch shapes and references."""

import pytest

from lib import batch, errors, idempotency


# ------------------------------------------------------------------ Idempotency-Key
@pytest.mark.parametrize("value", ["a", "order-2026/42", "x" * 255, "~!#$%&'*+.^_`|"])
def test_visible_ascii_keys_of_1_to_255_characters(value):
    assert idempotency.key_of("POST", value) == value


@pytest.mark.parametrize("value", ["", " ", "two words", "é", "x" * 256, "tab\there"])
def test_other_keys_are_400(value):
    with pytest.raises(errors.BadRequest):
        idempotency.key_of("PATCH", value)


def test_only_writes_carry_a_key():
    assert idempotency.key_of("GET", "k") is None
    assert idempotency.key_of("POST", None) is None
    assert idempotency.key_of("DELETE", "k") == "k"


def test_the_same_request_is_the_same_method_path_query_and_json_value():
    base = idempotency.fingerprint("POST", "/api/a/create", b"", b'{"name": "x", "qty": 1}')
    assert idempotency.fingerprint("POST", "/api/a/create", "", b'{"qty":1,"name":"x"}') == base
    for other in (
        idempotency.fingerprint("PUT", "/api/a/create", b"", b'{"name": "x", "qty": 1}'),
        idempotency.fingerprint("POST", "/api/b/create", b"", b'{"name": "x", "qty": 1}'),
        idempotency.fingerprint("POST", "/api/a/create", b"fields=name", b'{"name": "x", "qty": 1}'),
        idempotency.fingerprint("POST", "/api/a/create", b"", b'{"name": "x", "qty": 2}'),
    ):
        assert other != base
    # parts cannot run into each other
    assert idempotency.fingerprint("POST", "/api/ab", b"", b"") != idempotency.fingerprint(
        "POST", "/api/a", b"b", b""
    )
    assert idempotency.fingerprint("DELETE", "/api/a/1", b"", b"not json") != idempotency.fingerprint(
        "DELETE", "/api/a/1", b"", b"not  json"
    )


@pytest.mark.parametrize("status,kept", [(200, True), (201, True), (400, True), (404, True), (412, True),
                                         (422, True), (409, False), (429, False), (500, False), (503, False)])  # fmt: skip
def test_which_answers_are_kept(status, kept):
    assert idempotency.is_kept(status) is kept


def test_kept_headers_are_those_of_the_answer_not_of_the_request():
    headers = {"Content-Type": "application/json", "Location": "/api/a/1", "X-Request-Id": "r",
               "RateLimit-Remaining": "3", "ETag": '"1-2"'}  # fmt: skip
    assert idempotency.kept_headers(headers) == {
        "Content-Type": "application/json", "Location": "/api/a/1", "ETag": '"1-2"'
    }  # fmt: skip


# ------------------------------------------------------------------ batch
def op(method, path, body=None, **extra):
    return dict({"method": method, "path": path}, **({"body": body} if body is not None else {}), **extra)


def test_a_batch_parses_in_order():
    parsed = batch.parse(
        {"operations": [op("post", "/api/a/create", {"name": "x"}), op("GET", "/api/a/${0.id}")]}, 10
    )
    assert [(o.index, o.method, o.path) for o in parsed] == [
        (0, "POST", "/api/a/create"),
        (1, "GET", "/api/a/${0.id}"),
    ]


@pytest.mark.parametrize(
    "document",
    [[], {}, {"operations": []}, {"operations": "x"}, {"operations": [1]},
     {"operations": [op("HEAD", "/api/a/1")]}, {"operations": [op("GET", "/web")]},
     {"operations": [op("GET", "/api/a/1", extra=1)]},
     {"operations": [op("GET", "/api/a/1", headers={"api-key": "k"})]},
     {"operations": [op("POST", "/api/a/create", {"parent_id": "${0.id}"})]},
     {"operations": [op("GET", "/api/a/1"), op("GET", "/api/a/${5.id}")]}],
)  # fmt: skip
def test_malformed_batches_are_400(document):
    with pytest.raises(errors.BadRequest):
        batch.parse(document, 10)


def test_a_malformed_operation_is_named():
    with pytest.raises(errors.BadRequest) as caught:
        batch.parse({"operations": [op("GET", "/api/a/1"), op("GET", "/api/a/${1.id}")]}, 10)
    assert caught.value.problem()["operation"] == 1


def test_more_operations_than_the_limit_is_413():
    with pytest.raises(errors.PayloadTooLarge):
        batch.parse({"operations": [op("GET", "/api/a/1")] * 4}, 3)


def test_references_in_paths_and_whole_body_strings():
    first, second = batch.parse({"operations": [
        op("POST", "/api/a/create", [{"name": "x"}, {"name": "y"}]),
        op("PATCH", "/api/a/${0.ids.1}?fields=name", {"parent_id": "${0.ids.0}", "note": "see ${0.id}",
                                                     "tags": [[6, 0, ["${0.ids.1}"]]]}),
    ]}, 10)  # fmt: skip
    answers = [{"ids": [7, 8], "message": "created"}]
    assert batch.resolve_path(second, answers) == ("/api/a/8", "fields=name")
    assert batch.resolve_body(second, answers) == {
        "parent_id": 7,
        "note": "see ${0.id}",
        "tags": [[6, 0, [8]]],
    }
    assert batch.resolve_path(first, []) == ("/api/a/create", "")


def test_the_operations_an_operation_refers_to():
    operations = batch.parse({"operations": [
        op("POST", "/api/a/create", {"name": "x"}),
        op("POST", "/api/a/create", {"name": "y", "note": "see ${0.id}"}),  # not a whole string: no reference
        op("POST", "/api/a/create", {"name": "z", "lines": [[0, 0, {"parent_id": "${1.id}"}]]}),
        op("PATCH", "/api/a/${0.id}?fields=name", {"parent_id": "${2.ids.0}"}),
        op("GET", "/api/a/%24%7B1.id%7D"),  # quoted: still a reference (the path is checked unquoted too)
    ]}, 10)  # fmt: skip
    assert [batch.references(each) for each in operations] == [set(), set(), {1}, {0, 2}, {1}]


def test_a_reference_to_a_missing_member_is_400():
    (_, second) = batch.parse({"operations": [op("DELETE", "/api/a/1"), op("GET", "/api/a/${0.ids.3}")]}, 10)
    with pytest.raises(errors.BadRequest):
        batch.resolve_path(second, [{"ids": [1]}])
    with pytest.raises(errors.BadRequest):
        batch.resolve_path(second, [None])
