"""Durability under SIGKILL: `wasmrpc serve` runs as a child process while several clients Add
modules, or run chaincode transactions, concurrently; it is killed with SIGKILL at random moments,
restarted on the same data directory, and every Add or transaction that was acknowledged must still
be there, verified, and the whole directory must pass `wasmrpc log verify` (and, for transactions,
`wasmrpc state verify`)."""
import hashlib
import os
import pathlib
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import grpc

from conftest import REPO
from test_log import echo_copy, echo_descriptor

BINARY = os.environ.get("WASMRPC_BIN", str(REPO / ".build/debug/wasmrpc"))
ROUNDS = 5
CLIENTS = 4


def start(data, *extra):
    process = subprocess.Popen([BINARY, "serve", "--listen", "127.0.0.1:0", "--data", data, "--log-level", "error", *extra],
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    assert line.startswith("listening on "), f"wasmrpc serve did not start: {line!r}"
    return process, line.split()[-1]


# A guest deadline far above what a call needs on a loaded machine: these tests kill the server,
# not its calls.
PATIENT = ("--timeout", "60s")


def kill_rounds(data, rng, pause, client, acknowledged, what, setup=None):
    """ROUNDS times: starts the server on `data` (then `setup(address)` on the first round), runs
    `client(address, stop, number)` in CLIENTS threads, kills the server with SIGKILL after a random
    pause drawn from `pause`, and waits for the clients (whose calls then fail)."""
    for round_number in range(ROUNDS):
        process, address = start(data, *PATIENT)
        if setup and round_number == 0:
            setup(address)
        stop = threading.Event()
        threads = [threading.Thread(target=client, args=(address, stop, n)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(*pause))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        print(f"round {round_number + 1}: killed with {len(acknowledged)} {what} acknowledged so far")


def test_acknowledged_adds_survive_sigkill(stubs):
    wasmrpc_pb2, wasmrpc_pb2_grpc, _ = stubs
    data = tempfile.mkdtemp(prefix="wasmrpc-durability-")
    rng = random.Random(20261125)
    acknowledged = {}  # id -> bytes
    lock = threading.Lock()
    counter = iter(range(10_000, 10**9))
    def client(address, stop, _):
        with grpc.insecure_channel(address) as channel:
            registry = wasmrpc_pb2_grpc.RegistryStub(channel)
            while not stop.is_set():
                with lock:
                    wasm = echo_copy(next(counter))
                try:
                    response = registry.Add(wasmrpc_pb2.AddRequest(wasm=wasm, descriptor=echo_descriptor()), timeout=5)
                except grpc.RpcError:
                    return  # the server died mid-call: this Add was never acknowledged
                with lock:
                    acknowledged[response.metadata.id] = wasm

    try:
        kill_rounds(data, rng, (0.3, 1.5), client, acknowledged, "Adds")

        # Restart once more: everything acknowledged is there and verifies.
        process, address = start(data, *PATIENT)
        try:
            leftovers = [p for p in pathlib.Path(data, "blobs").rglob("*.tmp")]
            assert leftovers == [], f"interrupted writes left behind: {leftovers}"
            with grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 64 << 20)]) as channel:
                registry = wasmrpc_pb2_grpc.RegistryStub(channel)
                for module_id, wasm in acknowledged.items():
                    got = registry.Get(wasmrpc_pb2.GetRequest(id=module_id), timeout=10)
                    assert got.wasm == wasm and hashlib.sha256(got.wasm).hexdigest() == module_id
                listed, token = [], ""
                while True:
                    page = registry.List(wasmrpc_pb2.ListRequest(page_size=1000, page_token=token))
                    listed += [m.id for m in page.modules]
                    token = page.next_page_token
                    if not token:
                        break
                assert set(acknowledged) <= set(listed)
        finally:
            process.terminate()
            assert process.wait(timeout=10) == 0
        assert len(acknowledged) >= ROUNDS, "too few Adds were acknowledged for the test to mean anything"
        audit = subprocess.run([BINARY, "log", "verify", "--data", data], capture_output=True, text=True)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        print(f"{ROUNDS} SIGKILL rounds: {len(acknowledged)} acknowledged Adds, all present and verified; "
              f"{len(listed)} modules stored; log verify: {audit.stdout.strip()}")
    finally:
        shutil.rmtree(data, ignore_errors=True)


def test_acknowledged_transactions_survive_sigkill(stubs):
    """Clients run transactions of the counter chaincode (Guests/counter) at their native path
    while the server is killed with SIGKILL, 5 times: every transaction a client was answered for
    is in the ledger with a receipt that verifies, and `wasmrpc state verify` replays the ledger to
    the stored state."""
    from test_chaincode import parse_leaf, verify_receipt  # the independent checks

    wasmrpc_pb2, wasmrpc_pb2_grpc, _ = stubs
    data = tempfile.mkdtemp(prefix="wasmrpc-durability-tx-")
    rng = random.Random(20261207)
    acknowledged = []  # (transaction id, request bytes, response bytes)
    lock = threading.Lock()
    counter_wasm = (REPO / "Guests/counter/counter.wasm").read_bytes()
    module = hashlib.sha256(counter_wasm).hexdigest()

    def add_request(name):
        # counter.AddRequest{name = name, by = 1}: field 1 (string), field 2 (varint 1).
        return b"\x0a" + bytes([len(name)]) + name.encode() + b"\x10\x01"

    def add_counter(address):
        with grpc.insecure_channel(address) as channel:
            request = wasmrpc_pb2.AddRequest(wasm=counter_wasm)
            request.descriptor.MergeFromString((REPO / "Guests/counter/counter.pb").read_bytes())
            wasmrpc_pb2_grpc.RegistryStub(channel).Add(request, timeout=30)

    def client(address, stop, number):
        with grpc.insecure_channel(address) as channel:
            call = channel.unary_unary("/counter.Counter/Add")
            sent = 0
            while not stop.is_set():
                request = add_request("hot" if sent % 2 == 0 else f"c{number}")
                sent += 1
                try:
                    response, rpc = call.with_call(request, metadata=[("wasmrpc-module-id", module)], timeout=10)
                except grpc.RpcError:
                    return  # the server died mid-call: this transaction was never acknowledged
                with lock:
                    acknowledged.append((dict(rpc.initial_metadata())["wasmrpc-transaction"], request, response))

    try:
        kill_rounds(data, rng, (0.5, 2.0), client, acknowledged, "transactions", setup=add_counter)

        assert len(acknowledged) >= ROUNDS, "too few transactions were acknowledged for the test to mean anything"
        process, address = start(data, *PATIENT)
        try:
            with grpc.insecure_channel(address) as channel:
                state = wasmrpc_pb2_grpc.StateStub(channel)
                key = wasmrpc_pb2_grpc.LogStub(channel).GetCheckpoint(wasmrpc_pb2.GetCheckpointRequest()).verifier_key
                for transaction_id, request, response in acknowledged:
                    fetched = state.GetTransaction(wasmrpc_pb2.GetTransactionRequest(id=transaction_id), timeout=10)
                    fields = parse_leaf(fetched.receipt.leaf)
                    assert hashlib.sha256(fetched.receipt.leaf).hexdigest() == transaction_id
                    assert fields["module"] == module
                    assert fields["input"] == hashlib.sha256(request).hexdigest()
                    assert fields["output"] == hashlib.sha256(response).hexdigest()
                    verify_receipt(fetched.receipt, key)
        finally:
            process.terminate()
            assert process.wait(timeout=10) == 0
        replay = subprocess.run([BINARY, "state", "verify", module, "--data", data], capture_output=True, text=True)
        assert replay.returncode == 0, replay.stdout + replay.stderr
        audit = subprocess.run([BINARY, "log", "verify", "--data", data], capture_output=True, text=True)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        print(f"{ROUNDS} SIGKILL rounds: {len(acknowledged)} acknowledged transactions, all present with verified receipts; "
              f"state verify: {replay.stdout.strip()}")
    finally:
        shutil.rmtree(data, ignore_errors=True)
