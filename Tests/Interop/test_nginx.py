"""Two replicas on one PostgreSQL database behind Debian's nginx, configured by deploy/nginx.conf
(only its ports changed): a module added through replica A is invoked through B and through nginx;
then 8 clients Add and invoke through nginx while A is killed with SIGKILL and restarted. Every
acknowledged Add is there afterwards, `wasmrpc log verify --database` finds one consistent tree,
and the only calls that failed are calls that were already under way when A died."""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import grpc
import pytest

from conftest import REPO, binary, free_port, new_database, nginx_in_front
from test_log import echo_copy, echo_descriptor

COMPLEX_WASM = (REPO / "Guests/complex/complex.wasm").read_bytes()
COMPLEX_PB = (REPO / "Guests/complex/complex.pb").read_bytes()
CLIENTS = 8


class Replica:
    """`wasmrpc serve --database` on a fixed port, so that it comes back where nginx expects it."""

    def __init__(self, database, data, *extra):
        self.port, self.database, self.data, self.extra = free_port(), database, data, extra
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [binary(), "serve", "--listen", f"127.0.0.1:{self.port}", "--data", self.data, "--database", self.database,
             "--timeout", "60s", "--log-level", "error", *self.extra],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        assert line.startswith("listening on "), f"wasmrpc serve did not start: {line!r}"

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def deployment():
    """Replicas A and B (B with A's key) and nginx in front of them."""
    database = new_database()
    data_a, data_b = tempfile.mkdtemp(prefix="wasmrpc-nginx-a-"), tempfile.mkdtemp(prefix="wasmrpc-nginx-b-")
    a = Replica(database, data_a)
    b = Replica(database, data_b, "--log-key-file", os.path.join(data_a, "log.key"))
    try:
        a.start()
        b.start()
        with nginx_in_front(a.port, b.port) as front:
            yield database, data_a, a, b, f"127.0.0.1:{front}"
    finally:
        a.stop()
        b.stop()
        for directory in (data_a, data_b):
            shutil.rmtree(directory, ignore_errors=True)


def mul_of(channel, complex_pb2):
    return channel.unary_unary("/complex.Calculator/mul", request_serializer=complex_pb2.ComplexRequest.SerializeToString,
                               response_deserializer=complex_pb2.ComplexResponse.FromString)


def test_replicas_behind_nginx_survive_a_replica_killed_under_load(stubs, deployment):
    wasmrpc_pb2, wasmrpc_pb2_grpc, complex_pb2 = stubs
    from google.protobuf import descriptor_pb2
    database, data_a, a, b, front = deployment
    request = complex_pb2.ComplexRequest(a=complex_pb2.Complex(real=1, imag=2), b=complex_pb2.Complex(real=3, imag=4))

    # Added through A; invoked through B and through nginx (bounded waits: B learns of it by notification).
    with grpc.insecure_channel(f"127.0.0.1:{a.port}") as channel:
        wasmrpc_pb2_grpc.RegistryStub(channel).Add(
            wasmrpc_pb2.AddRequest(wasm=COMPLEX_WASM, descriptor=descriptor_pb2.FileDescriptorSet.FromString(COMPLEX_PB)), timeout=30)
    for address in (f"127.0.0.1:{b.port}", front):
        with grpc.insecure_channel(address) as channel:
            start = time.monotonic()
            while True:
                try:
                    answer = mul_of(channel, complex_pb2)(request, timeout=30)
                    break
                except grpc.RpcError as error:
                    assert error.code() == grpc.StatusCode.UNIMPLEMENTED and time.monotonic() - start < 10, error
                    time.sleep(0.01)
            print(f"{address} served the module added through A after {1000 * (time.monotonic() - start):.0f} ms")
            assert (answer.result.real, answer.result.imag) == (-5, 10)

    # 8 clients through nginx; A is killed with SIGKILL midway and restarted.
    acknowledged, failures, lock = {}, [], threading.Lock()
    stop = threading.Event()
    counter = iter(range(10_000_000))

    def client(number):
        with grpc.insecure_channel(front) as channel:
            registry, mul = wasmrpc_pb2_grpc.RegistryStub(channel), mul_of(channel, complex_pb2)
            calls = 0
            while not stop.is_set() and calls < 400:
                calls += 1
                begun = time.monotonic()
                try:
                    if calls % 2:
                        with lock:
                            n = next(counter)
                        response = registry.Add(wasmrpc_pb2.AddRequest(wasm=echo_copy(10_000 + n), descriptor=echo_descriptor()), timeout=60)
                        with lock:
                            acknowledged[response.metadata.id] = n
                    else:
                        answer = mul(request, timeout=60)
                        assert (answer.result.real, answer.result.imag) == (-5, 10)
                except grpc.RpcError as error:
                    with lock:
                        failures.append((begun, time.monotonic(), error.code(), error.details()))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    a.process.send_signal(signal.SIGKILL)
    # Dead once reaped: until then, calls nginx sends it are under way when it dies.
    a.process.wait(timeout=10)
    killed = time.monotonic()
    time.sleep(1.5)
    a.start()
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a client did not finish"
    print(f"{len(acknowledged)} Adds acknowledged, {len(failures)} calls failed: {failures}")
    assert len(acknowledged) > CLIENTS, "the clients got almost nothing done"
    late = [failure for failure in failures if failure[0] >= killed]
    assert not late, f"calls that began after A died failed: {late}"

    # Every acknowledged Add is there, through nginx and through each replica.
    for address in (front, f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"):
        with grpc.insecure_channel(address) as channel:
            registry = wasmrpc_pb2_grpc.RegistryStub(channel)
            for module_id, n in acknowledged.items():
                got = registry.Get(wasmrpc_pb2.GetRequest(id=module_id), timeout=30)
                assert got.wasm == echo_copy(10_000 + n)
    audit = subprocess.run([binary(), "log", "verify", "--database", database, "--data", data_a],
                           capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert audit.returncode == 0, audit.stderr
