import base64
import json
import time

import jwt
import pytest

from lib import tokens

SECRET = tokens.new_secret()
NOW = int(time.time())


def make(**overrides):
    values = {"user_id": 7, "key_id": 3, "jti": "j1", "issued_at": NOW, "expires_at": NOW + 60}
    values.update(overrides)
    return tokens.issue(SECRET, **values)


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_round_trip():
    claims = tokens.verify(SECRET, make())
    assert (claims.user_id, claims.key_id, claims.jti) == (7, 3, "j1")
    assert jwt.get_unverified_header(make())["alg"] == "HS256"


def test_expired_token_is_refused():
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(SECRET, make(issued_at=NOW - 120, expires_at=NOW - 60))


def test_another_secret_is_refused():
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(tokens.new_secret(), make())


def test_alg_none_is_refused():
    forged = b64({"alg": "none", "typ": "JWT"}) + "." + b64({"sub": "1", "azp": "3", "jti": "x", "iat": NOW,
                                                           "exp": NOW + 60}) + "."  # fmt: skip
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(SECRET, forged)


def test_other_algorithms_are_refused_even_with_the_right_secret():
    payload = {"sub": "1", "azp": "3", "jti": "x", "iat": NOW, "exp": NOW + 60}
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(SECRET, jwt.encode(payload, SECRET, algorithm="HS512"))


@pytest.mark.parametrize("missing", tokens.REQUIRED_CLAIMS)
def test_every_claim_is_required(missing):
    payload = {"sub": "1", "azp": "3", "jti": "x", "iat": NOW, "exp": NOW + 60}
    del payload[missing]
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(SECRET, jwt.encode(payload, SECRET, algorithm="HS256"))


def test_tampered_payload_is_refused():
    head, payload, signature = make().split(".")
    forged = b64({"sub": "1", "azp": "3", "jti": "j1", "iat": NOW, "exp": NOW + 60})
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(SECRET, f"{head}.{forged}.{signature}")


def test_refusal_is_opaque_to_the_caller():
    with pytest.raises(tokens.InvalidToken) as caught:
        tokens.verify(SECRET, "garbage")
    assert caught.value.detail == "Invalid, expired or revoked login token." and caught.value.reason


def test_refresh_tokens():
    token = tokens.new_refresh_token()
    assert tokens.looks_like_refresh_token(token) and not tokens.looks_like_refresh_token("x")
    assert tokens.hash_refresh_token(token) != token and len(tokens.hash_refresh_token(token)) == 64


@pytest.mark.parametrize("alg", ["RS256", "ES256", "HS384", "PS256"])
def test_tokens_declaring_another_algorithm_are_refused(alg):
    # RS256/HS256 confusion: a token that says RS256, "signed" with what an
    # attacker takes for the public key, must never reach HMAC verification
    forged = b64({"alg": alg, "typ": "JWT"}) + "." + b64({"sub": "1", "azp": "3", "jti": "x", "iat": NOW,
                                                        "exp": NOW + 60}) + ".c2ln"  # fmt: skip
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(SECRET, forged)
