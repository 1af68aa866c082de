"""The HTTP listener against other web pages (cross-site request forgery, DNS rebinding) and
shared caches: a call must say it is JSON, a browser's `Origin` must be the listener's own or an
allowed one, `Host` must name this server, and answers behind the token are private."""
import json

from conftest import serve
from test_exactly_once import COUNTER_PB, COUNTER_WASM
from test_web import COMPLEX, COMPLEX_SET, add, error_of, form, hashlib_hex, request


def test_a_call_that_is_not_json_is_refused_and_runs_nothing():
    """A page on another site can POST text/plain or a form to a developer's server without asking;
    such a call of a chaincode function must not commit."""
    with serve("--http-listen", "127.0.0.1:0") as (_, http):
        base = f"http://{http}"
        body, content_type = form(wasm=COUNTER_WASM.read_bytes(), descriptor=COUNTER_PB.read_bytes())
        status, _, answer = request(f"{base}/v1/modules", body, {"Content-Type": content_type})
        assert status == 201, answer
        module = json.loads(answer)["module"]["id"]
        call = b'{"name":"csrf","by":"1"}'
        for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"]:
            for url in (f"{base}/v1/services/counter.Counter/Add", f"{base}/v1/modules/{module}/functions/Add"):
                status, _, answer = request(url, call, {"Content-Type": content_type})
                assert status == 415 and error_of(answer)["status"] == "INVALID_ARGUMENT", (content_type, answer)
        status, _, answer = request(f"{base}/v1/modules/{module}/transactions")
        assert status == 200 and json.loads(answer)["transactions"] == [], answer
        # JSON, with parameters or in capitals, is a call.
        status, _, answer = request(f"{base}/v1/services/counter.Counter/Add", call, {"Content-Type": "Application/JSON; charset=utf-8"})
        assert status == 200, answer


def test_other_origins_and_unknown_hosts_are_refused():
    with serve("--http-listen", "127.0.0.1:0") as (_, http):
        base = f"http://{http}"
        assert add(base, COMPLEX, COMPLEX_SET)[0] == 201
        module = hashlib_hex(COMPLEX)
        mul = f"{base}/v1/modules/{module}/functions/mul"
        call = json.dumps({"a": {"real": 1, "imag": 2}, "b": {"real": 3, "imag": 4}}).encode()
        # The listener's own page, and clients that are not browsers (no Origin).
        assert request(mul, call, {"Origin": base})[0] == 200
        assert request(mul, call)[0] == 200
        for origin in ["http://evil.example", "null", f"http://{http}.evil.example", f"http://{http}/x"]:
            status, _, answer = request(mul, call, {"Origin": origin})
            assert status == 403 and error_of(answer)["status"] == "PERMISSION_DENIED", (origin, answer)
            body, content_type = form(wasm=COMPLEX.read_bytes(), descriptor=COMPLEX_SET.read_bytes())
            assert request(f"{base}/v1/modules", body, {"Content-Type": content_type, "Origin": origin})[0] == 403
        # DNS rebinding: a name that resolves to this machine, in a page of that same name.
        port = http.rsplit(":", 1)[1]
        rebound = f"attacker.example:{port}"
        for path in ["/v1/modules", "/", "/log/checkpoint"]:
            status, _, answer = request(f"{base}{path}", headers={"Host": rebound})
            assert status == 403, (path, answer)
        assert request(mul, call, {"Host": rebound, "Origin": f"http://{rebound}"})[0] == 403
        for host in [f"localhost:{port}", f"127.0.0.1:{port}", "[::1]"]:
            assert request(f"{base}/v1/modules", headers={"Host": host})[0] == 200, host


def test_allowed_origins_are_served():
    with serve("--http-listen", "127.0.0.1:0", "--http-allowed-origins", "https://explorer.example", "http://localhost:3000") as (_, http):
        base = f"http://{http}"
        assert request(f"{base}/v1/modules", headers={"Origin": "https://explorer.example"})[0] == 200
        assert request(f"{base}/v1/modules", headers={"Origin": "http://localhost:3000"})[0] == 200
        assert request(f"{base}/v1/modules", headers={"Host": "explorer.example", "Origin": "https://explorer.example"})[0] == 200
        assert request(f"{base}/v1/modules", headers={"Origin": "https://other.example"})[0] == 403
    with serve("--http-listen", "127.0.0.1:0", "--http-allowed-origins", "*") as (_, http):
        assert request(f"http://{http}/v1/modules", headers={"Origin": "https://any.example", "Host": "any.example"})[0] == 200


def test_answers_behind_the_token_are_private(tmp_path):
    token = "cache-secret"
    (tmp_path / "token").write_text(token)
    auth = {"Authorization": f"Bearer {token}"}
    with serve("--http-listen", "127.0.0.1:0", "--auth-token-file", str(tmp_path / "token"), "--protect-reads") as (_, http):
        base = f"http://{http}"
        assert add(base, COMPLEX, COMPLEX_SET, auth)[0] == 201
        module = hashlib_hex(COMPLEX)
        for path in ["/v1/modules", f"/v1/modules/{module}", f"/v1/modules/{module}/wasm", "/v1/log/checkpoint",
                     "/log/checkpoint", "/log/tile/0/000.p/1", "/log/tile/entries/000.p/1"]:
            status, headers, answer = request(f"{base}{path}", headers=auth)
            assert status == 200, (path, answer)
            cache = headers.get("Cache-Control", "")
            assert "private" in cache and "public" not in cache, (path, cache)
        status, headers, _ = request(f"{base}/v1/modules")
        assert status == 401 and "private" in headers.get("Cache-Control", "")
        # The page is open, and stays cacheable as before.
        assert "private" not in request(f"{base}/", headers=auth)[1].get("Cache-Control", "")
    with serve("--http-listen", "127.0.0.1:0") as (_, http):
        base = f"http://{http}"
        assert add(base, COMPLEX, COMPLEX_SET)[0] == 201
        cache = request(f"{base}/v1/modules/{hashlib_hex(COMPLEX)}/wasm")[1]["Cache-Control"]
        assert cache.startswith("public") and "immutable" in cache
