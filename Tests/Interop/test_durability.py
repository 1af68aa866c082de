"""Durability under SIGKILL: `wasmrpc serve` runs as a child process while several clients Add
modules concurrently; it is killed with SIGKILL at random moments, restarted on the same data
directory, and every Add that was acknowledged must still be there, verified, and the whole
directory must pass `wasmrpc log verify`."""
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


def start(data):
    process = subprocess.Popen([BINARY, "serve", "--listen", "127.0.0.1:0", "--data", data, "--log-level", "error"],
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    assert line.startswith("listening on "), f"wasmrpc serve did not start: {line!r}"
    return process, line.split()[-1]


def test_acknowledged_adds_survive_sigkill(stubs):
    wasmrpc_pb2, wasmrpc_pb2_grpc, _ = stubs
    data = tempfile.mkdtemp(prefix="wasmrpc-durability-")
    rng = random.Random(20261125)
    acknowledged = {}  # id -> bytes
    lock = threading.Lock()
    counter = iter(range(10_000, 10**9))
    try:
        for round_number in range(ROUNDS):
            process, address = start(data)
            stop = threading.Event()

            def client():
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

            threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.3, 1.5))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            print(f"round {round_number + 1}: killed with {len(acknowledged)} Adds acknowledged so far")

        # Restart once more: everything acknowledged is there and verifies.
        process, address = start(data)
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
