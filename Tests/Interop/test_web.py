"""The HTTP side of `serve --http-listen`: the JSON API (checked with plain urllib, and fuzzed from
its OpenAPI document by schemathesis), and the explorer page driven in Debian's chromium through
chromium-driver and selenium: it finds the complex module, calls mul with (1+2i)(3+4i), reads -5
and 10, and sees the module's inclusion proof verified in the page with WebCrypto. Screenshots go
to .build/test-output/explorer/."""
import base64
import hashlib
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import REPO, binary, serve

COMPLEX = REPO / "Guests/complex/complex.wasm"
COMPLEX_SET = REPO / "Guests/complex/complex.pb"
FABCAR = REPO / "Guests/fabcar/fabcar.wasm"
FABCAR_SET = REPO / "Guests/fabcar/fabcar.pb"
SCREENSHOTS = REPO / ".build/test-output/explorer"


def request(url, body=None, headers=None, method=None):
    """(status, headers, body bytes) of one request; HTTP errors are answers too. A body is JSON
    unless `headers` name another content type."""
    headers = dict(headers or {})
    if body is not None and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def form(**files):
    """A multipart/form-data body of `name=bytes` parts, and its content type."""
    boundary = "wasmrpc-" + uuid.uuid4().hex
    body = b""
    for name, data in files.items():
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n"
                 "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def add(base, wasm, descriptor, headers=None):
    body, content_type = form(wasm=wasm.read_bytes(), descriptor=descriptor.read_bytes())
    return request(f"{base}/v1/modules", body, {"Content-Type": content_type, **(headers or {})})


def error_of(body):
    document = json.loads(body)
    assert set(document) == {"error"} and set(document["error"]) == {"code", "status", "message"}, document
    return document["error"]


def test_json_api_adds_calls_and_proves():
    with serve("--http-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0") as (_, metrics, http):
        base = f"http://{http}"
        status, _, body = add(base, COMPLEX, COMPLEX_SET)
        assert status == 201, body
        module = json.loads(body)["module"]
        assert module["id"] == hashlib_hex(COMPLEX)
        assert [f["path"] for f in module["functions"]] == ["/complex.Calculator/mul"]
        assert module["schemas"]["complex.ComplexRequest"]["properties"]["a"] == {"$ref": "#/schemas/complex.Complex"}
        status, _, body = add(base, COMPLEX, COMPLEX_SET)
        assert status == 200 and json.loads(body)["created"] is False

        # Calls by module and function, and by method path; the request id comes back.
        call = json.dumps({"a": {"real": 1, "imag": 2}, "b": {"real": 3, "imag": 4}}).encode()
        status, headers, body = request(f"{base}/v1/modules/{module['id']}/functions/mul", call, {"x-request-id": "web-test-1"})
        assert status == 200, body
        assert json.loads(body) == {"result": {"real": -5, "imag": 10}}
        assert headers["x-request-id"] == "web-test-1" and int(headers["wasmrpc-fuel"]) > 0
        status, headers, body = request(f"{base}/v1/services/complex.Calculator/mul", call)
        assert status == 200 and json.loads(body) == {"result": {"real": -5, "imag": 10}}
        assert headers["wasmrpc-module-id"] == module["id"] and re.fullmatch(r"[0-9a-f]{16}", headers["x-request-id"])

        # The example endpoint gives requests the function takes.
        status, _, example = request(f"{base}/v1/modules/{module['id']}/functions/mul/example?seed=7")
        assert status == 200 and set(json.loads(example)) <= {"a", "b"}
        assert request(f"{base}/v1/modules/{module['id']}/functions/mul", example)[0] == 200

        # Errors: the gRPC status name and message, the usual HTTP status.
        status, headers, body = request(f"{base}/v1/modules/{module['id']}/functions/mul", b'{"c": 1}')
        assert status == 400 and error_of(body)["status"] == "INVALID_ARGUMENT" and "no field" in error_of(body)["message"]
        assert "x-request-id" in headers
        status, _, body = request(f"{base}/v1/modules/{'0' * 64}")
        assert status == 404 and error_of(body)["status"] == "NOT_FOUND"
        status, _, body = request(f"{base}/v1/modules/{module['id']}/functions/div", b"{}")
        assert status == 404 and error_of(body)["status"] == "NOT_FOUND"
        status, _, body = request(f"{base}/v1/nothing/here")
        assert status == 404 and error_of(body)["code"] == 404
        status, _, body = request(f"{base}/v1/modules", b"not a form", {"Content-Type": "text/plain"})
        assert status == 400 and "multipart/form-data" in error_of(body)["message"]

        # Bytes and descriptor come back as stored; the log proves the module's leaf.
        status, headers, wasm = request(f"{base}/v1/modules/{module['id']}/wasm")
        assert status == 200 and wasm == COMPLEX.read_bytes() and headers["Content-Type"] == "application/wasm"
        status, _, descriptor = request(f"{base}/v1/modules/{module['id']}/descriptor")
        assert status == 200 and len(descriptor) > 0
        status, _, body = request(f"{base}/v1/log/inclusion?module_id={module['id']}")
        proof = json.loads(body)
        assert status == 200 and proof["leafIndex"] == module["receipt"]["leafIndex"]
        assert base64.b64decode(proof["leaf"]).startswith(b"wasmrpc module v1\nid " + module["id"].encode())
        checkpoint = json.loads(request(f"{base}/v1/log/checkpoint")[2])
        assert checkpoint["checkpoint"].split("\n")[1] == "1"

        # Chaincode: a transaction's id comes back in a header, and its receipt from the API.
        status, _, body = add(base, FABCAR, FABCAR_SET)
        fabcar = json.loads(body)["module"]["id"]
        status, headers, body = request(f"{base}/v1/services/fabcar.FabCar/InitLedger", b"{}")
        assert status == 200, body
        transaction = headers["wasmrpc-transaction"]
        assert headers["wasmrpc-transaction-sequence"] == "1"
        status, _, body = request(f"{base}/v1/transactions/{transaction}")
        record = json.loads(body)
        assert status == 200 and record["transaction"]["moduleId"] == fabcar and record["receipt"]["leafIndex"] == 2
        status, _, body = request(f"{base}/v1/modules/{fabcar}/state?page_size=2")
        page = json.loads(body)
        assert status == 200 and len(page["entries"]) == 2 and page["more"] is True
        status, _, body = request(f"{base}/v1/modules/{fabcar}/transactions")
        assert status == 200 and [t["id"] for t in json.loads(body)["transactions"]] == [transaction]

        # The page and the tiles carry request ids and count as requests too.
        status, headers, _ = request(f"{base}/log/checkpoint", headers={"x-request-id": "tiles-1"})
        assert status == 200 and headers["x-request-id"] == "tiles-1"
        assert request(f"{base}/")[1]["x-request-id"]

        scrape = request(f"http://{metrics}/metrics")[2].decode()
        assert re.search(r'wasmrpc_http_requests_total\{route="GET /log/\*\*",code="200"\} 1', scrape), scrape
        assert re.search(r'wasmrpc_http_requests_total\{route="GET /",code="200"\} 1', scrape)
        assert re.search(r'wasmrpc_http_requests_total\{route="POST /v1/modules/\{id\}/functions/\{function\}",code="200"\} [1-9]', scrape), scrape
        assert re.search(r'wasmrpc_http_requests_total\{route="unmatched",code="404"\} 1', scrape)
        assert re.search(r'wasmrpc_invocations_total\{module="[0-9a-f]{64}",function="complex.Calculator/mul",code="ok"\} [1-9]', scrape)


def read_responses(sock, count):
    """`count` HTTP/1.1 responses (with Content-Length) read from `sock`: [(status, headers, body)]."""
    data, answers = b"", []
    sock.settimeout(60)
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"the connection closed after {len(answers)} answers"
            data += chunk
        head, data = data.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers["content-length"])
        while len(data) < length:
            chunk = sock.recv(65536)
            assert chunk, "the connection closed inside a body"
            data += chunk
        answers.append((int(lines[0].split()[1]), headers, data[:length]))
        data = data[length:]
    return answers


def test_pipelined_requests_are_answered_in_order():
    """Calls answered on the event loop and requests Hummingbird answers, pipelined on one
    connection, come back in the order they were sent."""
    with serve("--http-listen", "127.0.0.1:0") as (_, http):
        base = f"http://{http}"
        assert add(base, COMPLEX, COMPLEX_SET)[0] == 201
        module = hashlib_hex(COMPLEX)
        host, port = http.rsplit(":", 1)

        def call(a, request_id):
            body = json.dumps({"a": {"real": a, "imag": 0}, "b": {"real": 1, "imag": 0}}).encode()
            return (f"POST /v1/modules/{module}/functions/mul HTTP/1.1\r\nHost: {http}\r\nx-request-id: {request_id}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode() + body

        def get(path, request_id):
            return f"GET {path} HTTP/1.1\r\nHost: {http}\r\nx-request-id: {request_id}\r\n\r\n".encode()

        # Warm: the module is loaded and its calls are short.
        for _ in range(40):
            assert request(f"{base}/v1/services/complex.Calculator/mul", b"{}")[0] == 200
        sequence = [call(1, "r1"), get("/v1/modules", "r2"), call(2, "r3"), call(3, "r4"), get("/v1/log/checkpoint", "r5"),
                    call(4, "r6"), get("/v1/modules/" + module, "r7"), call(5, "r8")]
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            for round in range(3):
                sock.sendall(b"".join(sequence))
                answers = read_responses(sock, len(sequence))
                assert [h["x-request-id"] for _, h, _ in answers] == [f"r{n}" for n in range(1, 9)], answers
                assert all(status == 200 and "date" in h for status, h, _ in answers)
                reals = [json.loads(body)["result"]["real"] for status, h, body in answers if h["x-request-id"] in ("r1", "r3", "r4", "r6", "r8")]
                assert reals == [1, 2, 3, 4, 5]
                assert "modules" in json.loads(answers[1][2]) and "checkpoint" in json.loads(answers[4][2])


def test_expect_100_continue_is_answered():
    """A client that asks before sending its body (curl does for bodies over 1 KiB) is told to go on
    at once, then gets its answer."""
    with serve("--http-listen", "127.0.0.1:0") as (_, http):
        host, port = http.rsplit(":", 1)
        body, content_type = form(wasm=COMPLEX.read_bytes(), descriptor=COMPLEX_SET.read_bytes())
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            sock.sendall((f"POST /v1/modules HTTP/1.1\r\nHost: {http}\r\nContent-Type: {content_type}\r\n"
                          f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n").encode())
            sock.settimeout(60)
            interim = b""
            while b"\r\n\r\n" not in interim:
                chunk = sock.recv(1)
                assert chunk, "the connection closed before 100 Continue"
                interim += chunk
            assert interim.startswith(b"HTTP/1.1 100"), interim
            sock.sendall(body)
            [(status, headers, answer)] = read_responses(sock, 1)
            assert status == 201 and json.loads(answer)["module"]["id"] == hashlib_hex(COMPLEX)


def test_json_api_keeps_the_token_rules_and_limits(tmp_path):
    token = "web-secret"
    (tmp_path / "token").write_text(token)
    with serve("--http-listen", "127.0.0.1:0", "--auth-token-file", str(tmp_path / "token"), "--protect-reads",
               "--max-request-bytes", "200000") as (_, http):
        base = f"http://{http}"
        status, _, body = add(base, COMPLEX, COMPLEX_SET)
        assert status == 401 and error_of(body)["status"] == "UNAUTHENTICATED"
        assert request(f"{base}/v1/modules")[0] == 401
        assert request(f"{base}/v1/modules", headers={"Authorization": "Bearer wrong"})[0] == 401
        auth = {"Authorization": f"Bearer {token}"}
        status, _, body = add(base, COMPLEX, COMPLEX_SET, auth)
        assert status == 201, body
        assert request(f"{base}/v1/modules", headers=auth)[0] == 200
        # The page and the API document stay open; what they show needs the token.
        assert request(f"{base}/")[0] == 200 and request(f"{base}/openapi.yaml")[0] == 200
        # A call's body may be 4× the guest's request limit (JSON is larger than protobuf), no more.
        module = hashlib_hex(COMPLEX)
        status, _, body = request(f"{base}/v1/modules/{module}/functions/mul", b" " * 900_000, auth)
        assert status == 413 and error_of(body)["status"] == "RESOURCE_EXHAUSTED"


def other_key(key):
    """A verifier key with `key`'s name and a new Ed25519 public key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = b"\x01" + Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    name = key.split("+")[0]
    key_hash = hashlib.sha256(name.encode() + b"\n" + public).digest()[:4].hex()
    return f"{name}+{key_hash}+{base64.b64encode(public).decode()}"


def hashlib_hex(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_openapi_document_fuzzed_by_schemathesis(tmp_path):
    """Every operation of /openapi.yaml, with generated valid and invalid inputs (bounded in count
    and time): no 5xx, and every answer's status, content type, headers and body match the
    document."""
    schemathesis = pathlib.Path(sys.executable).parent / "schemathesis"
    assert schemathesis.exists(), "schemathesis is not installed in the venv (Tests/Interop/run.sh installs it)"
    with serve("--http-listen", "127.0.0.1:0") as (_, http):
        base = f"http://{http}"
        assert add(base, COMPLEX, COMPLEX_SET)[0] == 201
        assert add(base, FABCAR, FABCAR_SET)[0] == 201
        result = subprocess.run(
            [str(schemathesis), "run", f"{base}/openapi.yaml",
             "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
             "--max-examples", "20", "--max-time", "100", "--request-timeout", "30", "--seed", "20261207", "--no-color",
             "--workers", "1"],
            # In a directory of its own: schemathesis keeps a cache of examples where it runs.
            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, cwd=tmp_path)
        summary = result.stdout[-6000:]
        assert result.returncode == 0, summary + result.stderr[-2000:]
        assert re.search(r"Tested: 15", summary), summary


# ---- the explorer in a real browser ---------------------------------------------------------

def chromium_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    assert os.path.exists(driver_path), "chromium-driver is not installed (apt-get install chromium chromium-driver)"
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,1000"]:
        options.add_argument(argument)
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    options.binary_location = browser
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def test_explorer_calls_mul_and_verifies_the_proof_in_chromium(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    data = tmp_path / "data"
    with serve("--http-listen", "127.0.0.1:0", data=str(data)) as (_, http):
        base = f"http://{http}"
        assert add(base, FABCAR, FABCAR_SET)[0] == 201
        assert add(base, COMPLEX, COMPLEX_SET)[0] == 201
        module = hashlib_hex(COMPLEX)
        # The key the page is told to trust, read from the data directory, not from the server.
        key = subprocess.run([binary(), "log", "key", "--data", str(data)], capture_output=True, text=True, check=True,
                             stdin=subprocess.DEVNULL).stdout.strip()
        driver = chromium_driver()
        try:
            wait = WebDriverWait(driver, 60)

            def open_module(id, card_id):
                """Loads the page of module `id` and waits until the function card `card_id` is prefilled."""
                driver.get(f"{base}/?key={urllib.request.quote(key)}#module/{id}")
                card = wait.until(ready.presence_of_element_located((By.ID, card_id)))
                wait.until(lambda d: card.find_element(By.CSS_SELECTOR, "textarea.request").get_attribute("value").startswith("{"))
                return card

            driver.get(f"{base}/?key={urllib.request.quote(key)}")
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#module-list .module-row")) == 2)
            search = driver.find_element(By.ID, "search")
            search.send_keys("complex")
            rows = driver.find_elements(By.CSS_SELECTOR, "#module-list .module-row")
            assert [row.get_attribute("data-id") for row in rows] == [module]
            search.clear()
            search.send_keys(module[:6])
            wait.until(lambda d: [r.get_attribute("data-id") for r in d.find_elements(By.CSS_SELECTOR, "#module-list .module-row")] == [module])
            driver.save_screenshot(str(SCREENSHOTS / "modules.png"))

            driver.find_element(By.CSS_SELECTOR, "#module-list .module-row a").click()
            card = wait.until(ready.presence_of_element_located((By.ID, "function--complex-Calculator-mul")))
            # Prefilled with a random valid request.
            wait.until(lambda d: card.find_element(By.CSS_SELECTOR, "textarea.request").get_attribute("value").startswith("{"))
            status = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#module-proof .proof-status").text if "checking" not in
                                d.find_element(By.CSS_SELECTOR, "#module-proof .proof-status").text else None)
            assert status == "Inclusion proof: verified", status
            assert "trusted key" in driver.find_element(By.ID, "module-proof").text

            textarea = card.find_element(By.CSS_SELECTOR, "textarea.request")
            textarea.clear()
            textarea.send_keys('{"a": {"real": 1, "imag": 2}, "b": {"real": 3, "imag": 4}}')
            card.find_element(By.CSS_SELECTOR, "button.call").click()
            answer = wait.until(lambda d: card.find_element(By.CSS_SELECTOR, "pre.answer").text or None)
            result = json.loads(answer)["result"]
            assert (result["real"], result["imag"]) == (-5, 10), answer
            assert re.search(r"time [0-9.]+ ms", card.text) and re.search(r"fuel [1-9][0-9]*", card.text), card.text
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", card.find_element(By.CSS_SELECTOR, "pre.answer"))
            driver.save_screenshot(str(SCREENSHOTS / "module.png"))

            # Chaincode: the transaction's receipt is re-checked too.
            init = open_module(hashlib_hex(FABCAR), "function--fabcar-FabCar-InitLedger")
            init.find_element(By.CSS_SELECTOR, "button.call").click()
            receipt = wait.until(lambda d: init.find_element(By.CSS_SELECTOR, ".receipt").text if "verified" in
                                 init.find_element(By.CSS_SELECTOR, ".receipt").text else None)
            assert receipt.startswith("Transaction receipt: verified"), receipt
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", init.find_element(By.CSS_SELECTOR, ".receipt"))
            driver.save_screenshot(str(SCREENSHOTS / "transaction.png"))

            # On a phone-sized window the page still reads (no sideways scrolling).
            driver.set_window_size(390, 844)
            open_module(module, "function--complex-Calculator-mul")
            assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
            driver.execute_script("window.scrollTo(0, 0)")
            driver.save_screenshot(str(SCREENSHOTS / "phone.png"))

            # Told to trust another key of the same name, the page says the proof is not verified.
            driver.set_window_size(1200, 1000)
            driver.get(f"{base}/?key={urllib.request.quote(other_key(key))}#module/{module}")
            status = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#module-proof .proof-status").text if "checking" not in
                                d.find_element(By.CSS_SELECTOR, "#module-proof .proof-status").text else None)
            assert status.startswith("Inclusion proof: NOT verified"), status
            driver.save_screenshot(str(SCREENSHOTS / "untrusted-key.png"))
        finally:
            driver.quit()
    assert all((SCREENSHOTS / name).stat().st_size > 0 for name in ["modules.png", "module.png", "transaction.png", "phone.png", "untrusted-key.png"])
