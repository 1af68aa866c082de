"""The server's memory under the hostile corpus (Tests/Fixtures/hostile/): `wasmrpc serve` in its
own process; the corpus is added/invoked several times while a well-behaved module keeps being
invoked; the server's resident memory must come back near its baseline."""
import os
import shutil
import subprocess
import tempfile
import threading

import grpc
from google.protobuf import any_pb2, descriptor_pb2

from conftest import REPO
from test_durability import BINARY, start
from test_interop import complex_descriptor, mul_request

CORPUS = ["start-loop", "init-loop", "init-trap", "huge-memory"]
ROUNDS = 4


def wasm(name, directory):
    out = os.path.join(directory, name + ".wasm")
    subprocess.run(["wat2wasm", str(REPO / f"Tests/Fixtures/hostile/{name}.wat"), "-o", out], check=True)
    with open(out, "rb") as file:
        return file.read()


def nothing_descriptor():
    file = descriptor_pb2.FileDescriptorProto(name="hostile.proto", package="hostile", syntax="proto3")
    file.message_type.add(name="Nothing")
    file.service.add(name="Hostile").method.add(name="run", input_type=".hostile.Nothing", output_type=".hostile.Nothing")
    return descriptor_pb2.FileDescriptorSet(file=[file])


def resident_mib(pid):
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def test_memory_returns_to_its_baseline_after_the_hostile_corpus(stubs):
    wasmrpc_pb2, wasmrpc_pb2_grpc, complex_pb2 = stubs
    data = tempfile.mkdtemp(prefix="wasmrpc-hostile-")
    process, address = None, None
    try:
        modules = {name: wasm(name, data) for name in CORPUS + ["huge-response"]}
        os.environ["WASMRPC_MEMORY_LIMIT"] = "128MiB"  # lets huge-response load; its answer is what is refused
        os.environ["WASMRPC_TIMEOUT"] = "300ms"
        try:
            process, address = start(os.path.join(data, "store"))
        finally:
            del os.environ["WASMRPC_MEMORY_LIMIT"], os.environ["WASMRPC_TIMEOUT"]
        with grpc.insecure_channel(address) as channel:
            registry = wasmrpc_pb2_grpc.RegistryStub(channel)
            invoker = wasmrpc_pb2_grpc.InvokerStub(channel)
            complex_wasm = (REPO / "Guests/complex/complex.wasm").read_bytes()
            complex_id = registry.Add(wasmrpc_pb2.AddRequest(wasm=complex_wasm, descriptor=complex_descriptor(complex_pb2))).metadata.id
            huge_id = registry.Add(wasmrpc_pb2.AddRequest(wasm=modules["huge-response"], descriptor=nothing_descriptor())).metadata.id

            def invoke(module_id, name, parameters):
                return invoker.Invoke(wasmrpc_pb2.InvokeRequest(
                    metadata=wasmrpc_pb2.Metadata(id=module_id),
                    request=wasmrpc_pb2.FunctionRequest(name=name, parameters=parameters)), timeout=10)

            stop, answered, wrong = threading.Event(), [0], [0]

            def well_behaved():
                while not stop.is_set():
                    answer = complex_pb2.ComplexResponse()
                    invoke(complex_id, "mul", mul_request(complex_pb2, (2.0, 0.0), (0.0, 2.0))).response.result.Unpack(answer)
                    answered[0] += 1
                    wrong[0] += (answer.result.real, answer.result.imag) != (0.0, 4.0)

            caller = threading.Thread(target=well_behaved)
            caller.start()
            baseline = resident_mib(process.pid)
            statuses = {}
            for _ in range(ROUNDS):
                for name in CORPUS:
                    try:
                        registry.Add(wasmrpc_pb2.AddRequest(wasm=modules[name], descriptor=nothing_descriptor()), timeout=10)
                        statuses[name] = "OK"
                    except grpc.RpcError as error:
                        statuses[name] = error.code().name
                try:
                    invoke(huge_id, "run", any_pb2.Any())
                    statuses["huge-response"] = "OK"
                except grpc.RpcError as error:
                    statuses["huge-response"] = error.code().name
            after = resident_mib(process.pid)
            stop.set()
            caller.join(timeout=30)
        assert statuses == {"start-loop": "INVALID_ARGUMENT", "init-loop": "INVALID_ARGUMENT", "init-trap": "INVALID_ARGUMENT",
                            "huge-memory": "INVALID_ARGUMENT", "huge-response": "RESOURCE_EXHAUSTED"}, statuses
        assert answered[0] > 0 and wrong[0] == 0
        print(f"hostile corpus x{ROUNDS}: server resident {baseline:.0f} MiB before, {after:.0f} MiB after; "
              f"{answered[0]} well-behaved calls answered meanwhile, 0 wrong")
        assert after - baseline < 64, f"resident memory grew from {baseline:.0f} MiB to {after:.0f} MiB"
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)
