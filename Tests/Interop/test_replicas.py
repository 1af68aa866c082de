"""Two `wasmrpc serve` replicas on one PostgreSQL database (WASMRPC_TEST_POSTGRES; run.sh starts a
throwaway cluster): a module added through one is served by the other (native route, reflection,
health) through the database's notification, and the checkpoints collected from both form one
consistent history that third-party verifiers (tlog-scales, rekor-verifier) accept."""
import concurrent.futures
import os
import re
import subprocess
import tempfile
import time

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from rekor_verifier import merkle_proof as rekor
from tlog_scales import signing, tlog

from conftest import REPO, binary, new_database, serve
from test_log import echo_copy, echo_descriptor

COMPLEX_WASM = (REPO / "Guests/complex/complex.wasm").read_bytes()
COMPLEX_PB = (REPO / "Guests/complex/complex.pb").read_bytes()


@pytest.fixture(scope="module")
def replicas():
    """Replicas A and B on a new database, B signing with A's key. The catch-up that lists
    modules runs only every 60 s here, so a module B serves within the test's bounds came by
    notification."""
    database = new_database()
    data = tempfile.mkdtemp(prefix="wasmrpc-replica-a-")
    common = ("--database", database, "--timeout", "60s", "--catch-up-interval", "60s")
    with serve(*common, data=data) as (a,):
        with serve(*common, "--log-key-file", os.path.join(data, "log.key")) as (b,):
            with grpc.insecure_channel(a) as channel_a, grpc.insecure_channel(b) as channel_b:
                yield channel_a, channel_b, a, b


def test_a_module_added_through_one_replica_is_served_by_the_other(stubs, replicas):
    wasmrpc_pb2, wasmrpc_pb2_grpc, complex_pb2 = stubs
    channel_a, channel_b, _, _ = replicas
    added = wasmrpc_pb2_grpc.RegistryStub(channel_a).Add(
        wasmrpc_pb2.AddRequest(wasm=COMPLEX_WASM, descriptor=descriptor_pb2.FileDescriptorSet.FromString(COMPLEX_PB)), timeout=30)
    start = time.monotonic()
    mul = channel_b.unary_unary("/complex.Calculator/mul", request_serializer=complex_pb2.ComplexRequest.SerializeToString,
                                response_deserializer=complex_pb2.ComplexResponse.FromString)
    request = complex_pb2.ComplexRequest(a=complex_pb2.Complex(real=1, imag=2), b=complex_pb2.Complex(real=3, imag=4))
    # Bounded: 10 s, far below the 60 s catch-up; the figure printed is the notification's delay.
    while True:
        try:
            answer = mul(request, timeout=10)
            break
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNIMPLEMENTED, error
            assert time.monotonic() - start < 10, "replica B did not learn of the module added through A"
            time.sleep(0.005)
    print(f"replica B served the module {1000 * (time.monotonic() - start):.1f} ms after A's Add answered")
    assert (answer.result.real, answer.result.imag) == (-5, 10)
    health = health_pb2_grpc.HealthStub(channel_b).Check(health_pb2.HealthCheckRequest(service="complex.Calculator"), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel_b)
    [listing] = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
    assert "complex.Calculator" in [service.name for service in listing.list_services_response.service]
    # B gives the same module back, proven in the same log.
    got = wasmrpc_pb2_grpc.RegistryStub(channel_b).Get(wasmrpc_pb2.GetRequest(id=added.metadata.id), timeout=30)
    assert got.wasm == COMPLEX_WASM


def test_checkpoints_from_both_replicas_form_one_history(stubs, replicas):
    wasmrpc_pb2, wasmrpc_pb2_grpc, _ = stubs
    channel_a, channel_b, _, _ = replicas
    registries = [wasmrpc_pb2_grpc.RegistryStub(channel) for channel in (channel_a, channel_b)]
    logs = [wasmrpc_pb2_grpc.LogStub(channel) for channel in (channel_a, channel_b)]

    def add(n):
        # Adds on both replicas at once: their appends meet in the database.
        response = registries[n % 2].Add(wasmrpc_pb2.AddRequest(wasm=echo_copy(1000 + n), descriptor=echo_descriptor()), timeout=60)
        checkpoint = logs[(n + 1) % 2].GetCheckpoint(wasmrpc_pb2.GetCheckpointRequest(), timeout=30)
        return response.receipt, checkpoint

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(add, range(24)))
    keys = {checkpoint.verifier_key for _, checkpoint in results}
    assert len(keys) == 1, f"the replicas announce different keys: {keys}"
    vkey = signing.Vkey.from_string(keys.pop())
    notes = [receipt.checkpoint for receipt, _ in results] + [checkpoint.checkpoint for _, checkpoint in results]
    checkpoints = {}
    for note in notes:
        checkpoint = tlog.Checkpoint.from_text(note)
        checkpoint.verify(vkey)
        # One tree: never two roots for one size.
        assert checkpoints.setdefault(checkpoint.size, checkpoint.root_hash) == checkpoint.root_hash
    leaves = {receipt.leaf_index for receipt, _ in results}
    assert len(leaves) == len(results), "two Adds got the same leaf"
    sizes = sorted(checkpoints)
    # Each checkpoint extends the one before, with proofs asked of either replica in turn.
    for n, (old, new) in enumerate(zip(sizes, sizes[1:])):
        proof = list(logs[n % 2].GetConsistencyProof(wasmrpc_pb2.GetConsistencyProofRequest(first=old, second=new), timeout=30).hashes)
        tlog.ConsistencyProof(old, new, proof).check(checkpoints[old], checkpoints[new])
        rekor.verify_consistency(rekor.Hasher(), old, new, [p.hex() for p in proof], checkpoints[old].hex(), checkpoints[new].hex())


def test_a_server_with_another_key_is_refused():
    """A database's log was signed by its first server's key: a server with a key of its own
    would publish checkpoints that verify under another key, so it does not start."""
    database = new_database()
    data = tempfile.mkdtemp(prefix="wasmrpc-replica-")
    with serve("--database", database, data=data):
        other = tempfile.mkdtemp(prefix="wasmrpc-replica-other-")
        result = subprocess.run([binary(), "serve", "--listen", "127.0.0.1:0", "--data", other, "--database", database],
                                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert result.returncode != 0
        assert "is signed by another key than this server's" in result.stderr, result.stderr


def wait_for_health(channel, status):
    """Waits (60 s at most) until the server's overall health is `status`."""
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 60
    while health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status != status:
        assert time.monotonic() < deadline, f"the server's health did not become {status} within 60 s"
        time.sleep(0.2)


def test_replicas_ride_out_a_database_restart(stubs):
    """PostgreSQL (a cluster of this test's own) restarted under load: while it is down, calls that
    need it fail with UNAVAILABLE and nothing else (calls that need only a loaded module go on) and
    the replicas' health is NOT_SERVING; once it is back, both serve Adds again by themselves,
    without a restart, and are SERVING."""
    wasmrpc_pb2, wasmrpc_pb2_grpc, complex_pb2 = stubs
    cluster = tempfile.mkdtemp(prefix="wasmrpc-pg-restart-")
    postgres = str(REPO / "scripts/postgres.sh")
    url = subprocess.run([postgres, "start", cluster], check=True, capture_output=True, text=True).stdout.strip()
    try:
        name = "restart"
        subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {name}"], check=True, stdin=subprocess.DEVNULL)
        database = url.replace("/postgres?", f"/{name}?")
        data = tempfile.mkdtemp(prefix="wasmrpc-replica-a-")
        with serve("--database", database, "--timeout", "60s", data=data) as (a,), \
                serve("--database", database, "--timeout", "60s", "--log-key-file", os.path.join(data, "log.key")) as (b,):
            channels = [grpc.insecure_channel(address) for address in (a, b)]
            registries = [wasmrpc_pb2_grpc.RegistryStub(channel) for channel in channels]
            registries[0].Add(wasmrpc_pb2.AddRequest(wasm=COMPLEX_WASM, descriptor=descriptor_pb2.FileDescriptorSet.FromString(COMPLEX_PB)),
                              timeout=30)
            counter = iter(range(1_000_000))
            codes = {}

            def add(replica):
                try:
                    registries[replica].Add(wasmrpc_pb2.AddRequest(wasm=echo_copy(50_000 + next(counter)), descriptor=echo_descriptor()),
                                            timeout=30)
                    return grpc.StatusCode.OK
                except grpc.RpcError as error:
                    codes.setdefault(error.code(), error.details())
                    return error.code()

            assert add(0) == add(1) == grpc.StatusCode.OK
            subprocess.run([postgres, "stop", cluster], check=True)
            # Down: Adds on both replicas fail, with UNAVAILABLE only.
            assert add(0) == grpc.StatusCode.UNAVAILABLE and add(1) == grpc.StatusCode.UNAVAILABLE, codes
            assert set(codes) == {grpc.StatusCode.UNAVAILABLE}, codes
            # An active health check would take the replicas out meanwhile (bounded: the
            # replicas notice at their next catch-up, every 5 s).
            for channel in channels:
                wait_for_health(channel, health_pb2.HealthCheckResponse.NOT_SERVING)
            # The loaded module still answers on the replica that has it loaded.
            mul = channels[0].unary_unary("/complex.Calculator/mul", request_serializer=complex_pb2.ComplexRequest.SerializeToString,
                                          response_deserializer=complex_pb2.ComplexResponse.FromString)
            answer = mul(complex_pb2.ComplexRequest(a=complex_pb2.Complex(real=1, imag=2), b=complex_pb2.Complex(real=3, imag=4)),
                         timeout=30)
            assert (answer.result.real, answer.result.imag) == (-5, 10)
            # Back, on the same port.
            port = re.search(r":(\d+)/", url).group(1)
            subprocess.run(["runuser", "-u", "postgres", "--"] * (os.geteuid() == 0) +
                           ["/usr/lib/postgresql/15/bin/pg_ctl", "-D", os.path.join(cluster, "data"), "-l", os.path.join(cluster, "server.log"),
                            "-w", "-o", f"-p {port} -k {cluster} -c listen_addresses=127.0.0.1", "start"],
                           check=True, stdout=subprocess.DEVNULL)
            for replica in (0, 1):
                deadline = time.monotonic() + 60
                while add(replica) != grpc.StatusCode.OK:
                    assert time.monotonic() < deadline, f"replica {replica} did not recover within 60 s: {codes}"
                    time.sleep(0.2)
                wait_for_health(channels[replica], health_pb2.HealthCheckResponse.SERVING)
            assert set(codes) == {grpc.StatusCode.UNAVAILABLE}, codes
            for channel in channels:
                channel.close()
    finally:
        subprocess.run([postgres, "stop", cluster], check=False)
        subprocess.run(["rm", "-rf", cluster], check=False)


def test_chaincode_transactions_stay_serializable_across_replicas(stubs, replicas):
    """Increments of one counter through both replicas at once: every acknowledged increment is
    counted exactly once (each replica's transactions validate against the other's commits), and
    the ledger replays to the stored state."""
    from conftest import field, varint
    wasmrpc_pb2, wasmrpc_pb2_grpc, _ = stubs
    channel_a, channel_b, address, _ = replicas
    wasm = (REPO / "Guests/counter/counter.wasm").read_bytes()
    descriptor = descriptor_pb2.FileDescriptorSet.FromString((REPO / "Guests/counter/counter.pb").read_bytes())
    module = wasmrpc_pb2_grpc.RegistryStub(channel_a).Add(wasmrpc_pb2.AddRequest(wasm=wasm, descriptor=descriptor), timeout=30).metadata.id
    add_request = field(1, b"shared") + varint(2 << 3) + varint(1)  # AddRequest{name: "shared", by: 1}

    def decode_value(data):
        assert data[:1] in (b"", b"\x08"), data
        value, shift = 0, 0
        for byte in data[1:]:
            value |= (byte & 0x7F) << shift
            shift += 7
        return value

    def increments(channel):
        add = channel.unary_unary("/counter.Counter/Add", request_serializer=bytes, response_deserializer=decode_value)
        values = []
        for _ in range(15):
            values.append(add(add_request, timeout=60, metadata=[("wasmrpc-module-id", module)]))
        return values

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = [value for values in pool.map(increments, [channel_a, channel_b, channel_a, channel_b]) for value in values]
    # Serializable: the 60 answers are exactly 1…60, each once.
    assert sorted(answers) == list(range(1, 61)), answers
    get = channel_b.unary_unary("/counter.Counter/Get", request_serializer=bytes, response_deserializer=decode_value)
    assert get(field(1, b"shared"), timeout=30, metadata=[("wasmrpc-module-id", module)]) == 60
    config = tempfile.mkdtemp(prefix="wasmrpc-replicas-config-")
    replay = subprocess.run([binary(), "state", "verify", module, "--server", address], capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL, env={**os.environ, "XDG_CONFIG_HOME": config})
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "60 transactions" in replay.stdout, replay.stdout
