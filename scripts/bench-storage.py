#!/usr/bin/env python3
"""Add and invoke throughput on the three deployments: one server on a data directory (SQLite),
one server on PostgreSQL, and two replicas on PostgreSQL behind nginx (deploy/nginx.conf).

    .venv/bin/python scripts/bench-storage.py [--binary .build/release/wasmrpc] [--seconds 4] [--rounds 3] [--concurrency 16]

Starts everything itself on loopback (a throwaway PostgreSQL cluster with scripts/postgres.sh,
nginx from Debian) and stops it at the end. Each round measures every target in turn (order
reversed every other round): Adds of distinct modules (the echo guest with a distinct custom
section, each a new module, leaf and checkpoint) from CONCURRENCY Python threads, then invokes
of the complex example's mul on its native route with gload ($GLOAD, else gload on the PATH).
Needs the venv of Tests/Interop/run.sh (grpcio, grpcio-tools)."""
import argparse
import concurrent.futures
import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import grpc

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests/Interop"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(REPO / ".build/release/wasmrpc"))
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    arguments = parser.parse_args()
    gload = os.environ.get("GLOAD") or shutil.which("gload")
    if not gload:
        sys.exit("set GLOAD to the gload binary (GLOAD_OUT=PATH sh ../shared/tools/gload/build.sh)")

    from grpc_tools import protoc
    stubs = tempfile.mkdtemp(prefix="wasmrpc-bench-stubs-")
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    for proto_dir, name in [(REPO / "proto", "wasmrpc/v1/wasmrpc.proto"), (REPO / "Guests/complex", "complex.proto")]:
        assert protoc.main(["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={stubs}", f"--grpc_python_out={stubs}", name]) == 0
    sys.path.insert(0, stubs)
    from google.protobuf import descriptor_pb2
    from wasmrpc.v1 import wasmrpc_pb2, wasmrpc_pb2_grpc
    import complex_pb2
    from test_log import echo_copy, echo_descriptor
    from conftest import free_port, nginx_in_front, wait_for_port

    processes, directories = [], [stubs]
    stack = contextlib.ExitStack()
    cluster = tempfile.mkdtemp(prefix="wasmrpc-bench-pg-")
    directories.append(cluster)
    postgres = str(REPO / "scripts/postgres.sh")
    try:
        url = subprocess.run([postgres, "start", cluster], check=True, capture_output=True, text=True).stdout.strip()
        for name in ("single", "replicas"):
            subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {name}"], check=True, stdin=subprocess.DEVNULL)

        def serve(*extra, data=None):
            data = data or tempfile.mkdtemp(prefix="wasmrpc-bench-")
            directories.append(data)
            port = free_port()
            process = subprocess.Popen([arguments.binary, "serve", "--listen", f"127.0.0.1:{port}", "--data", data, "--log-level", "error",
                                        "--timeout", "60s", *extra], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            processes.append(process)
            wait_for_port(port, process, "wasmrpc serve")
            return port, data

        sqlite, _ = serve()
        single, _ = serve("--database", url.replace("/postgres?", "/single?"))
        replica_a, data_a = serve("--database", url.replace("/postgres?", "/replicas?"))
        replica_b, _ = serve("--database", url.replace("/postgres?", "/replicas?"), "--log-key-file", os.path.join(data_a, "log.key"))
        front = stack.enter_context(nginx_in_front(replica_a, replica_b))

        targets = {"SQLite (one server)": sqlite, "PostgreSQL (one server)": single, "two replicas behind nginx": front}
        complex_wasm = (REPO / "Guests/complex/complex.wasm").read_bytes()
        complex_pb = descriptor_pb2.FileDescriptorSet.FromString((REPO / "Guests/complex/complex.pb").read_bytes())
        body = tempfile.NamedTemporaryFile(suffix=".bin", delete=False)
        body.write(complex_pb2.ComplexRequest(a=complex_pb2.Complex(real=1, imag=2), b=complex_pb2.Complex(real=3, imag=4)).SerializeToString())
        body.close()
        directories.append(body.name)
        for port in targets.values():
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                module = wasmrpc_pb2_grpc.RegistryStub(channel).Add(wasmrpc_pb2.AddRequest(wasm=complex_wasm, descriptor=complex_pb), timeout=60)
        module_id = module.metadata.id
        time.sleep(1)  # the other replica learns of the module

        counter = iter(range(10**9))
        lock = threading.Lock()

        def adds(port, seconds):
            """Adds/s of distinct modules from `concurrency` threads, each on its own channel."""
            stop = time.monotonic() + seconds
            done = [0] * arguments.concurrency

            def worker(n):
                with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                    registry = wasmrpc_pb2_grpc.RegistryStub(channel)
                    while time.monotonic() < stop:
                        with lock:
                            copy = next(counter)
                        registry.Add(wasmrpc_pb2.AddRequest(wasm=echo_copy(copy), descriptor=echo_descriptor()), timeout=60)
                        done[n] += 1

            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(arguments.concurrency) as pool:
                list(pool.map(worker, range(arguments.concurrency)))
            return sum(done) / (time.monotonic() - started)

        def invokes(port, seconds):
            out = subprocess.run([gload, "-addr", f"127.0.0.1:{port}", "-method", "/complex.Calculator/mul", "-body", body.name,
                                  "-md", f"wasmrpc-module-id={module_id}", "-c", str(arguments.concurrency), "-d", f"{seconds}s"],
                                 check=True, capture_output=True, text=True).stdout
            report = json.loads(out)
            assert report["errors"] == 0, report
            return report["rps"]

        results = {name: {"adds": [], "invokes": []} for name in targets}
        for round_number in range(arguments.rounds):
            order = list(targets.items())
            if round_number % 2:
                order.reverse()
            for name, port in order:
                results[name]["adds"].append(adds(port, arguments.seconds))
                results[name]["invokes"].append(invokes(port, arguments.seconds))
                print(f"round {round_number + 1}: {name}: {results[name]['adds'][-1]:.0f} Adds/s, {results[name]['invokes'][-1]:.0f} invokes/s",
                      file=sys.stderr)
        print(f"| deployment | Adds/s at {arguments.concurrency} in flight (each round) | invokes/s at {arguments.concurrency} in flight (each round) |")
        print("|---|---|---|")
        for name, figures in results.items():
            print(f"| {name} | {' / '.join(f'{x:,.0f}' for x in figures['adds'])} | {' / '.join(f'{x:,.0f}' for x in figures['invokes'])} |")
    finally:
        stack.close()
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run([postgres, "stop", cluster], check=False)
        for directory in directories:
            if os.path.isdir(directory):
                shutil.rmtree(directory, ignore_errors=True)
            elif os.path.exists(directory):
                os.unlink(directory)


if __name__ == "__main__":
    main()
