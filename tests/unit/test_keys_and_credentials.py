import pytest

from lib import credentials, errors, keys

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


def test_generated_keys_have_the_prefix_and_256_random_bits():
    secret = keys.generate_key()
    assert secret.startswith("odoorest_") and keys.looks_like_key(secret)
    assert len(secret) - len("odoorest_") == 43  # 32 bytes in URL-safe base64


def test_generated_keys_differ():
    assert len({keys.generate_key() for _ in range(50)}) == 50


def test_hash_is_sha256_hex_and_stable():
    secret = keys.generate_key()
    assert keys.hash_key(secret) == keys.hash_key(secret) and len(keys.hash_key(secret)) == 64
    assert secret not in keys.hash_key(secret)


def test_hint_reveals_only_four_random_characters():
    secret = keys.generate_key()
    assert keys.key_hint(secret) == secret[:13] + "…"


@pytest.mark.parametrize("text", ["", None, "nope", "odoorest_short", "' OR '1'='1", "odoorest_" + "a" * 44])
def test_malformed_keys_are_refused_before_any_lookup(text):
    assert not keys.looks_like_key(text)


@pytest.mark.parametrize(
    "headers,key,token",
    [
        ({"api-key": "K"}, "K", None),
        ({"X-API-Key": "K"}, "K", None),
        ({"Authorization": "Bearer K"}, "K", None),
        ({"api-key": "K", "token": JWT}, "K", JWT),
        ({"api-key": "K", "Login-Token": JWT}, "K", JWT),
        ({"api-key": "K", "Authorization": "Bearer " + JWT}, "K", JWT),
        ({"Authorization": "Basic abc"}, None, None),
        # a generated client given only the key sends it in every scheme of the document
        ({"api-key": "K", "token": "K", "Authorization": "Bearer K"}, "K", None),
        ({"api-key": "K", "token": JWT, "Authorization": "Bearer " + JWT}, "K", JWT),
        ({"api-key": "K", "token": JWT, "Authorization": "Bearer K"}, "K", JWT),
        ({}, None, None),
    ],
)
def test_credentials_from_headers(headers, key, token):
    found = credentials.extract(headers, {})
    assert (found.key, found.token) == (key, token)


@pytest.mark.parametrize("name", ["api-key", "X-API-Key", "token", "Login-Token", "access_token"])
def test_credentials_in_the_query_string_are_refused(name):
    with pytest.raises(errors.Unauthorized):
        credentials.extract({"api-key": "K"}, {name: "secret"})


def test_conflicting_keys_are_refused():
    with pytest.raises(errors.Unauthorized):
        credentials.extract({"api-key": "K1", "X-API-Key": "K2"}, {})


def test_another_key_as_the_token_is_still_a_token():
    # only the very key of the call is read as no token; anything else is checked as a token
    assert credentials.extract({"api-key": "K1", "token": "K2"}, {}).token == "K2"
