"""Moving up: the demo's data directory copied into PostgreSQL with `wasmrpc migrate`, audited there
with `wasmrpc log verify --database`, and served from the database by `wasmrpc serve --database`
with the same log root and every module invocable."""
import os
import re
import shutil
import subprocess
import tempfile

import grpc
from tlog_scales import signing, tlog

from conftest import REPO, binary, new_database, serve


# The CLI pins the log key it first sees (trust on first use): this test's own pins, apart from
# the other tests' servers, which sign with other keys.
CONFIG = tempfile.mkdtemp(prefix="wasmrpc-migrate-config-")


def run(*arguments):
    result = subprocess.run([binary(), *arguments], capture_output=True, text=True, timeout=600, cwd=REPO, stdin=subprocess.DEVNULL,
                            env={**os.environ, "XDG_CONFIG_HOME": CONFIG})
    assert result.returncode == 0, f"wasmrpc {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_demos_store_moves_to_postgres_with_the_same_root(stubs):
    wasmrpc_pb2, wasmrpc_pb2_grpc, complex_pb2 = stubs
    data = os.path.join(tempfile.mkdtemp(prefix="wasmrpc-migrate-"), "demo")
    run("demo", "--seed", "1", "--data", data)
    database = new_database()
    copied = run("migrate", "--from", data, "--to", database)
    root = re.search(r"log: (\d+) leaves, root ([0-9a-f]{64}) in both", copied)
    assert root, copied
    assert "2 modules" in copied, copied
    assert "blob check out" in run("log", "verify", "--database", database, "--data", data)
    # A second copy into the same database is refused: it is not empty any more.
    again = subprocess.run([binary(), "migrate", "--from", data, "--to", database], capture_output=True, text=True, timeout=600,
                           stdin=subprocess.DEVNULL)
    assert again.returncode != 0 and "is not empty" in again.stderr, again.stderr

    with serve("--database", database, "--log-key-file", os.path.join(data, "log.key"), "--timeout", "60s") as (address,):
        with grpc.insecure_channel(address) as channel:
            log = wasmrpc_pb2_grpc.LogStub(channel).GetCheckpoint(wasmrpc_pb2.GetCheckpointRequest(), timeout=30)
            checkpoint = tlog.Checkpoint.from_text(log.checkpoint)
            checkpoint.verify(signing.Vkey.from_string(log.verifier_key))
            assert (checkpoint.size, checkpoint.root_hash.hex()) == (int(root.group(1)), root.group(2))
            modules = wasmrpc_pb2_grpc.RegistryStub(channel).List(wasmrpc_pb2.ListRequest(), timeout=30).modules
            assert sorted(module.name for module in modules) == ["complex.Calculator", "fabcar.FabCar"], modules
            mul = channel.unary_unary("/complex.Calculator/mul", request_serializer=complex_pb2.ComplexRequest.SerializeToString,
                                      response_deserializer=complex_pb2.ComplexResponse.FromString)
            answer = mul(complex_pb2.ComplexRequest(a=complex_pb2.Complex(real=1, imag=2), b=complex_pb2.Complex(real=3, imag=4)),
                         timeout=30)
            assert (answer.result.real, answer.result.imag) == (-5, 10)
        # The chaincode's transactions and state came along: replayed through the server on the
        # database, every transaction matches its record and leaf, and the state matches.
        replayed = run("state", "verify", "fabcar.FabCar", "--server", address)
        assert "3 transactions" in replayed, replayed
    shutil.rmtree(os.path.dirname(data), ignore_errors=True)
