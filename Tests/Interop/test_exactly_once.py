"""What a transaction's answer means, checked from outside (docs/CHAINCODE.md, "What an answer
means" and "Exactly-once calls"): a call the server answers with an error left no trace, and a
call whose answer was lost is learned by retrying it with its idempotency key, which never applies
it twice — with two replicas on PostgreSQL on one hot key, with a replica killed while clients
retry through the other, and with a single server on SQLite killed between commit and answer.
The clients here are grpcio with raw bytes and the examples in docs/examples."""
import concurrent.futures
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import grpc

from conftest import REPO, binary, field, new_database, serve, varint

COUNTER_WASM = REPO / "Guests/counter/counter.wasm"
COUNTER_PB = REPO / "Guests/counter/counter.pb"
BANK_WASM = REPO / "Guests/rust/bank/bank.wasm"
BANK_PB = REPO / "Guests/rust/bank/bank.pb"
KEY = "wasmrpc-idempotency-key"
SERVER_DECIDED = (grpc.StatusCode.ABORTED, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE)

sys.path.insert(0, str(REPO / "docs/examples"))
from exactly_once import call_exactly_once  # noqa: E402  (the published example, used as a library)


def decode_int(data, number):
    """The varint field `number` of a protobuf message (0 when absent)."""
    position, value = 0, 0
    while position < len(data):
        tag, position = read_varint(data, position)
        if tag & 7 == 0:
            found, position = read_varint(data, position)
            if tag >> 3 == number:
                value = found
        elif tag & 7 == 2:
            length, position = read_varint(data, position)
            position += length
        else:
            raise AssertionError(f"unexpected wire type in {data!r}")
    return value


def read_varint(data, position):
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def add_request(name, by=1):
    return field(1, name.encode()) + varint(2 << 3) + varint(by)  # counter.AddRequest / bank.DepositRequest


def add_module(address, wasm, descriptor):
    """Adds a module with the CLI; returns its id."""
    result = subprocess.run([binary(), "add", str(wasm), "--descriptor-set", str(descriptor), "--server", address],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[0]


def cli(*arguments, config, timeout=300):
    return subprocess.run([binary(), *arguments], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, "XDG_CONFIG_HOME": config})


def transaction_count(address, module, config):
    """How many transactions `wasmrpc state verify` replays (it also checks each against its leaf
    and the replayed state against the stored one)."""
    replay = cli("state", "verify", module, "--server", address, config=config)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    words = replay.stdout.split()
    return int(words[words.index("transactions") - 1].replace(",", ""))


def value_of(channel, method, name, module, number=1):
    """The varint field `number` of what query `method` answers for the name (or account) `name`."""
    get = channel.unary_unary(method)
    return decode_int(get(field(1, name.encode()), metadata=[("wasmrpc-module-id", module)], timeout=60), number)


def test_a_hot_key_through_two_replicas_counts_exactly_the_acknowledged_calls():
    """16 clients, 8 on each of two replicas, add 1 to one counter, each call sent once without a
    key (as a plain client does). Three rounds: with the default conflict retry, and twice with a
    retry of 50 ms, short enough that calls fail as ABORTED. Every call ends OK or with an error the
    server decided (ABORTED, or under load RESOURCE_EXHAUSTED or UNAVAILABLE), and the counter and
    the ledger count exactly the OK ones: a failed call left no trace."""
    database = new_database()
    data = tempfile.mkdtemp(prefix="wasmrpc-hot-a-")
    config = tempfile.mkdtemp(prefix="wasmrpc-hot-config-")
    acknowledged, aborted = 0, 0
    try:
        for round_number, retry in enumerate(["10s", "50ms", "50ms"]):
            common = ("--database", database, "--timeout", "60s", "--catch-up-interval", "60s", "--state-conflict-retry", retry)
            with serve(*common, data=data) as (a,), serve(*common, "--log-key-file", os.path.join(data, "log.key")) as (b,):
                if round_number == 0:
                    module = add_module(a, COUNTER_WASM, COUNTER_PB)
                outcomes = []
                lock = threading.Lock()

                def client(address):
                    with grpc.insecure_channel(address) as channel:
                        add = channel.unary_unary("/counter.Counter/Add")
                        for _ in range(15):
                            try:
                                add(add_request("hot"), metadata=[("wasmrpc-module-id", module)], timeout=120)
                                outcome = grpc.StatusCode.OK
                            except grpc.RpcError as error:
                                # Errors the server decides; each must have left no trace. (UNKNOWN,
                                # the one that may not have, would make the count below ambiguous.)
                                outcome = error.code()
                                assert outcome in SERVER_DECIDED, f"{outcome}: {error.details()}"
                            with lock:
                                outcomes.append(outcome)

                with concurrent.futures.ThreadPoolExecutor(16) as pool:
                    list(pool.map(client, [a, b] * 8))
                acknowledged += outcomes.count(grpc.StatusCode.OK)
                aborted += len(outcomes) - outcomes.count(grpc.StatusCode.OK)
                with grpc.insecure_channel(b) as channel:
                    assert value_of(channel, "/counter.Counter/Get", "hot", module) == acknowledged
                assert transaction_count(a, module, config) == acknowledged
        audit = cli("log", "verify", "--database", database, "--data", data, config=config)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        print(f"3 rounds of 16 × 15 calls: {acknowledged} acknowledged and counted, {aborted} failed (ABORTED or another "
              "error the server decided) and absent")
    finally:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(config, ignore_errors=True)


def test_a_replica_killed_while_clients_retry_with_keys_applies_each_call_once():
    """8 clients deposit into one account of the Rust bank guest (no initializer) through two
    replicas, each call with a key of its own, retried through the other replica when a call
    fails (the published Python example). Replica A is killed with SIGKILL after 20 answers. Every
    deposit is answered, and applied exactly once: the answers are the balances 1…N, each once,
    and the ledger holds N transactions."""
    database = new_database()
    data = tempfile.mkdtemp(prefix="wasmrpc-kill-a-")
    config = tempfile.mkdtemp(prefix="wasmrpc-kill-config-")
    common = ("--database", database, "--timeout", "60s", "--catch-up-interval", "60s")
    a_process = subprocess.Popen([binary(), "serve", "--listen", "127.0.0.1:0", "--data", data, "--log-level", "error", *common],
                                 stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        a = a_process.stdout.readline().split()[-1]
        with serve(*common, "--log-key-file", os.path.join(data, "log.key")) as (b,):
            module = add_module(b, BANK_WASM, BANK_PB)
            answers, lock, killed = [], threading.Lock(), threading.Event()
            calls_per_client = 10

            def client(number):
                channels = [grpc.insecure_channel(a), grpc.insecure_channel(b)]
                try:
                    for call in range(calls_per_client):
                        # A first for half the clients, B first for the others.
                        order = channels if number % 2 == 0 else channels[::-1]
                        response, headers, key = call_exactly_once(
                            order, "/bank.Bank/Deposit", add_request("hot"), key=f"client-{number}-call-{call}", module=module,
                            attempts=30, timeout=120)
                        with lock:
                            answers.append((decode_int(response, 2), key, headers.get("wasmrpc-transaction")))
                            if len(answers) == 20 and not killed.is_set():
                                killed.set()
                                a_process.send_signal(signal.SIGKILL)
                finally:
                    for channel in channels:
                        channel.close()

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(client, range(8)))
            assert killed.is_set()
            total = 8 * calls_per_client
            assert sorted(balance for balance, _, _ in answers) == list(range(1, total + 1)), sorted(answers)
            assert len({transaction for _, _, transaction in answers}) == total
            with grpc.insecure_channel(b) as channel:
                assert value_of(channel, "/bank.Bank/GetBalance", "hot", module, number=2) == total
            assert transaction_count(b, module, config) == total
        audit = cli("log", "verify", "--database", database, "--data", data, config=config)
        assert audit.returncode == 0, audit.stdout + audit.stderr
    finally:
        if a_process.poll() is None:
            a_process.kill()
        a_process.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(config, ignore_errors=True)


def start_on(data, *extra, environment=None):
    process = subprocess.Popen([binary(), "serve", "--listen", "127.0.0.1:0", "--data", data, "--log-level", "error", "--timeout", "60s",
                                *extra], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                               env={**os.environ, **(environment or {})})
    line = process.stdout.readline()
    assert line.startswith("listening on "), f"wasmrpc serve did not start: {line!r}"
    return process, line.split()[-1]


def test_a_server_killed_between_commit_and_answer_is_asked_again_with_the_key():
    """A single server on SQLite kills itself right after it commits a transaction and before it
    answers (the debug build's fail point WASMRPC_FAILPOINT=kill-after-commit). The client sees
    UNAVAILABLE and cannot know whether its deposit happened; asked again with the same key after
    a restart, the server answers the committed transaction's output and id without running it
    again. The same through `wasmrpc invoke`, which prints the key to ask with."""
    data = tempfile.mkdtemp(prefix="wasmrpc-failpoint-")
    config = tempfile.mkdtemp(prefix="wasmrpc-failpoint-config-")
    try:
        process, address = start_on(data)
        module = add_module(address, COUNTER_WASM, COUNTER_PB)
        process.terminate()
        assert process.wait(timeout=10) == 0

        process, address = start_on(data, environment={"WASMRPC_FAILPOINT": "kill-after-commit"})
        with grpc.insecure_channel(address) as channel:
            add = channel.unary_unary("/counter.Counter/Add")
            try:
                add.with_call(add_request("apples", 3), metadata=[(KEY, "order-7"), ("wasmrpc-module-id", module)], timeout=120)
                raise AssertionError("the server answered; WASMRPC_FAILPOINT needs a debug build of wasmrpc")
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error
        assert process.wait(timeout=30) == -signal.SIGKILL

        process, address = start_on(data)
        try:
            with grpc.insecure_channel(address) as channel:
                add = channel.unary_unary("/counter.Counter/Add")
                metadata = [(KEY, "order-7"), ("wasmrpc-module-id", module)]
                response, rpc = add.with_call(add_request("apples", 3), metadata=metadata, timeout=120)
                headers = dict(rpc.initial_metadata())
                assert decode_int(response, 1) == 3
                assert headers.get("wasmrpc-idempotent-replay") == "true"
                # Once more: the same answer; another request with the key is refused.
                again, rpc = add.with_call(add_request("apples", 3), metadata=metadata, timeout=120)
                assert again == response and dict(rpc.initial_metadata())["wasmrpc-transaction"] == headers["wasmrpc-transaction"]
                try:
                    add(add_request("apples", 4), metadata=metadata, timeout=120)
                    raise AssertionError("a key used for another request was accepted")
                except grpc.RpcError as error:
                    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
                    assert "order-7" in error.details()
                assert value_of(channel, "/counter.Counter/Get", "apples", module) == 3
            assert transaction_count(address, module, config) == 1
        finally:
            process.terminate()
            assert process.wait(timeout=10) == 0

        # The CLI: its own key, printed when the outcome is unknown, then given back.
        process, address = start_on(data, environment={"WASMRPC_FAILPOINT": "kill-after-commit"})
        lost = cli("invoke", module, "Add", "--json", '{"name":"pears","by":"2"}', "--server", address, "--retries", "0", config=config)
        assert lost.returncode != 0
        assert process.wait(timeout=30) == -signal.SIGKILL
        words = lost.stderr.split("--idempotency-key ")
        assert len(words) == 2, lost.stderr
        key = words[1].split()[0]
        process, address = start_on(data)
        try:
            again = cli("invoke", module, "Add", "--json", '{"name":"pears","by":"2"}', "--server", address, "--idempotency-key", key,
                        config=config)
            assert again.returncode == 0, again.stderr
            assert '"value":"2"' in again.stdout.replace(" ", "")
            assert "did not run" in again.stderr and "receipt verified" in again.stderr
            with grpc.insecure_channel(address) as channel:
                assert value_of(channel, "/counter.Counter/Get", "pears", module) == 2
            assert transaction_count(address, module, config) == 2
        finally:
            process.terminate()
            assert process.wait(timeout=10) == 0
        replay = subprocess.run([binary(), "state", "verify", module, "--data", data], capture_output=True, text=True)
        assert replay.returncode == 0, replay.stdout + replay.stderr
    finally:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(config, ignore_errors=True)


def test_keyed_retries_across_sigkills_apply_each_call_once():
    """Four clients deposit into one account of the Rust bank guest on a single SQLite server,
    each call with a key, retrying it (same key) until answered, while the server is killed with
    SIGKILL and restarted 4 times: every deposit is applied exactly once (the answers are the
    balances 1…N, each once) and `state verify` replays the ledger."""
    data = tempfile.mkdtemp(prefix="wasmrpc-kill-rounds-")
    config = tempfile.mkdtemp(prefix="wasmrpc-kill-rounds-config-")
    address_box = {}
    answers, lock = [], threading.Lock()
    stop = threading.Event()
    calls_per_client = 12
    try:
        process, address_box["address"] = start_on(data)
        module = add_module(address_box["address"], BANK_WASM, BANK_PB)

        def client(number):
            for call in range(calls_per_client):
                key = f"client-{number}-call-{call}"
                while True:
                    assert not stop.is_set(), "the test ended before this call was answered"
                    try:
                        with grpc.insecure_channel(address_box["address"]) as channel:
                            response, _, _ = call_exactly_once([channel], "/bank.Bank/Deposit", add_request("hot"), key=key, module=module,
                                                               attempts=3, timeout=60)
                        break
                    except grpc.RpcError:
                        time.sleep(0.05)  # the server is down or restarting: ask again with the same key
                with lock:
                    answers.append(decode_int(response, 2))

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(client, number) for number in range(4)]
            for kill in range(4):
                # Kill after a few more answers (counted, not timed), then restart on the same directory.
                wanted = (kill + 1) * 6
                while len(answers) < wanted and not all(f.done() for f in futures):
                    time.sleep(0.01)
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
                process, address_box["address"] = start_on(data)
            for future in futures:
                future.result(timeout=600)
        stop.set()
        total = 4 * calls_per_client
        assert sorted(answers) == list(range(1, total + 1)), sorted(answers)
        assert transaction_count(address_box["address"], module, config) == total
        process.terminate()
        assert process.wait(timeout=10) == 0
        audit = subprocess.run([binary(), "log", "verify", "--data", data], capture_output=True, text=True)
        assert audit.returncode == 0, audit.stdout + audit.stderr
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(config, ignore_errors=True)


def test_the_go_example_calls_exactly_once():
    """docs/examples/exactly-once-go, built with Debian's Go and grpc-go, against a server: a
    second run with the same key gets the first run's answer, marked as replayed."""
    go = shutil.which("go")
    assert go, "Go is not installed (apt-get install golang-go golang-google-grpc-dev)"
    build = tempfile.mkdtemp(prefix="wasmrpc-go-example-")
    try:
        shutil.copy(REPO / "docs/examples/exactly-once-go/main.go", build)
        built = subprocess.run([go, "build", "-o", "exactly-once", "main.go"], cwd=build, capture_output=True, text=True, timeout=600,
                               env={**os.environ, "GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOPROXY": "off", "GOFLAGS": "",
                                    "GOCACHE": os.path.join(build, "cache")})
        assert built.returncode == 0, built.stderr
        with serve("--timeout", "60s") as (address,):
            module = add_module(address, COUNTER_WASM, COUNTER_PB)
            key = uuid.uuid4().hex
            arguments = [os.path.join(build, "exactly-once"), "-addr", address, "-method", "/counter.Counter/Add",
                         "-request", add_request("go", 5).hex(), "-key", key, "-module", module]
            runs = [subprocess.run(arguments, capture_output=True, text=True, timeout=120) for _ in range(2)]
            for run in runs:
                assert run.returncode == 0, run.stderr
            first, second = (dict(line.split(" ", 1) for line in run.stdout.splitlines()) for run in runs)
            assert decode_int(bytes.fromhex(first["response"]), 1) == 5 and first["replayed"] == "false"
            assert second["response"] == first["response"] and second["replayed"] == "true"
            assert second["transaction"] == first["transaction"] != ""
            with grpc.insecure_channel(address) as channel:
                assert value_of(channel, "/counter.Counter/Get", "go", module) == 5
    finally:
        shutil.rmtree(build, ignore_errors=True)


def test_the_python_example_runs_as_a_command():
    with serve("--timeout", "60s") as (address,):
        module = add_module(address, COUNTER_WASM, COUNTER_PB)
        command = [sys.executable, str(REPO / "docs/examples/exactly_once.py"), address, "/counter.Counter/Add", add_request("py", 2).hex(), "k-1"]
        runs = [subprocess.run(command, capture_output=True, text=True, timeout=120) for _ in range(2)]
        for run in runs:
            assert run.returncode == 0, run.stderr
        first, second = (dict(line.split(" ", 1) for line in run.stdout.splitlines()) for run in runs)
        assert first["replayed"] == "false" and second["replayed"] == "true"
        assert first["response"] == second["response"] and first["transaction"] == second["transaction"]
        with grpc.insecure_channel(address) as channel:
            assert value_of(channel, "/counter.Counter/Get", "py", module) == 2


def test_the_json_api_takes_the_key_too():
    """POST /v1/modules/{id}/functions/Add and /v1/services/counter.Counter/Add with
    `wasmrpc-idempotency-key`: the retry answers the first call, marked replayed; a malformed key
    and a key reused for another body are refused, and nothing runs twice."""
    from test_web import request
    with serve("--timeout", "60s", "--http-listen", "127.0.0.1:0") as (address, http):
        module = add_module(address, COUNTER_WASM, COUNTER_PB)
        base = f"http://{http}"
        json_headers = {"content-type": "application/json"}
        for url, key in ((f"{base}/v1/modules/{module}/functions/Add", "json-1"), (f"{base}/v1/services/counter.Counter/Add", "json-2")):
            body = b'{"name":"' + key.encode() + b'","by":"3"}'
            first = request(url, body, {**json_headers, KEY: key})
            again = request(url, body, {**json_headers, KEY: key})
            assert first[0] == again[0] == 200, (first, again)
            assert first[2] == again[2] and b'"3"' in first[2]
            assert first[1].get("wasmrpc-idempotent-replay") is None and again[1].get("wasmrpc-idempotent-replay") == "true"
            assert first[1]["wasmrpc-transaction"] == again[1]["wasmrpc-transaction"]
            reused = request(url, body.replace(b'"3"', b'"4"'), {**json_headers, KEY: key})
            assert reused[0] == 400 and b"FAILED_PRECONDITION" in reused[2] and key.encode() in reused[2], reused
            malformed = request(url, body, {**json_headers, KEY: "two words"})
            assert malformed[0] == 400 and b"INVALID_ARGUMENT" in malformed[2], malformed
            with grpc.insecure_channel(address) as channel:
                assert value_of(channel, "/counter.Counter/Get", key, module) == 3
