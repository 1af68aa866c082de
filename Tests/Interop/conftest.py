"""Fixtures for the interop tests: Python stubs generated from proto/ and a `wasmrpc serve` on a
free loopback port with a temporary data directory, stopped at the end."""
import contextlib
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import grpc
import pytest
from grpc_tools import protoc

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stubs(tmp_path_factory):
    out = tmp_path_factory.mktemp("stubs")
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    for proto_dir, name in [(REPO / "proto", "wasmrpc/v1/wasmrpc.proto"), (REPO / "Guests/complex", "complex.proto")]:
        status = protoc.main(["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", name])
        assert status == 0, f"grpc_tools.protoc failed on {name}"
    sys.path.insert(0, str(out))
    from wasmrpc.v1 import wasmrpc_pb2, wasmrpc_pb2_grpc  # noqa: E402
    import complex_pb2  # noqa: E402

    return wasmrpc_pb2, wasmrpc_pb2_grpc, complex_pb2


def binary():
    """The wasmrpc binary under test."""
    return os.environ.get("WASMRPC_BIN", str(REPO / ".build/debug/wasmrpc"))


@contextlib.contextmanager
def serve(*extra, data=None):
    """Runs `wasmrpc serve` on a free loopback port with the data directory `data` (default: a
    temporary one, removed afterwards) and yields the addresses it prints on stdout once bound
    ("listening on HOST:PORT", then "metrics on HOST:PORT" with --metrics-listen and "http on
    HOST:PORT" with --http-listen); stops it with SIGTERM and checks that it exits cleanly."""
    temporary = data is None
    data = data or tempfile.mkdtemp(prefix="wasmrpc-interop-")
    process = subprocess.Popen(
        [binary(), "serve", "--listen", "127.0.0.1:0", "--data", data, "--log-level", "warning", *extra],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        lines = [process.stdout.readline()]  # "listening on HOST:PORT", once bound
        assert lines[0].startswith("listening on "), f"unexpected first line from wasmrpc serve: {lines[0]!r}"
        if "--metrics-listen" in extra:
            lines.append(process.stdout.readline())
            assert lines[-1].startswith("metrics on "), f"unexpected line from wasmrpc serve: {lines[-1]!r}"
        if "--http-listen" in extra:
            lines.append(process.stdout.readline())
            assert lines[-1].startswith("http on "), f"unexpected line from wasmrpc serve: {lines[-1]!r}"
        yield [line.split()[-1] for line in lines]
    finally:
        process.terminate()
        try:
            assert process.wait(timeout=10) == 0, "wasmrpc serve did not exit cleanly on SIGTERM"
        finally:
            if process.poll() is None:
                process.kill()
            if temporary:
                subprocess.run(["rm", "-rf", data], check=False)


def free_port():
    """A free loopback port (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, what, seconds=30):
    """Waits until something listens on `port` of loopback; fails if `process` ends first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None, f"{what} ended before it listened"
            assert time.monotonic() < deadline, f"{what} did not listen within {seconds} s"
            time.sleep(0.05)


@contextlib.contextmanager
def nginx_in_front(first, second):
    """Debian's nginx with deploy/nginx.conf as it is but for its ports: its two replicas are the
    loopback ports `first` and `second`; yields the port it listens on, and stops it."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.path.exists(nginx), "nginx is not installed (apt-get install nginx)"
    config = (REPO / "deploy/nginx.conf").read_text()
    upstreams = re.findall(r"server 127\.0\.0\.1:(\d+) max_fails", config)
    assert len(upstreams) == 2, "deploy/nginx.conf should list two replicas"
    front = free_port()
    config = config.replace(f"127.0.0.1:{upstreams[0]} ", f"127.0.0.1:{first} ").replace(f"127.0.0.1:{upstreams[1]} ", f"127.0.0.1:{second} ")
    config = re.sub(r"listen 127\.0\.0\.1:\d+ http2;", f"listen 127.0.0.1:{front} http2;", config)
    # Run as root, nginx's workers run as nobody: their directory must be theirs to reach.
    prefix = pathlib.Path(tempfile.mkdtemp(prefix="wasmrpc-nginx-"))
    prefix.chmod(0o755)
    (prefix / "tmp").mkdir()
    (prefix / "nginx.conf").write_text(config)
    if os.geteuid() == 0:
        shutil.chown(prefix / "tmp", "nobody")
    proxy = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(front, proxy, "nginx")
        yield front
    finally:
        proxy.send_signal(signal.SIGQUIT)
        try:
            proxy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proxy.kill()
        shutil.rmtree(prefix, ignore_errors=True)


def new_database():
    """The URL of a new, empty database on the PostgreSQL server WASMRPC_TEST_POSTGRES names
    (run.sh starts a throwaway one when it is unset)."""
    url = os.environ.get("WASMRPC_TEST_POSTGRES")
    assert url, "WASMRPC_TEST_POSTGRES is not set: run the interop tests with Tests/Interop/run.sh"
    name = "wasmrpc_interop_" + uuid.uuid4().hex
    subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {name}"], check=True, stdin=subprocess.DEVNULL)
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")


@pytest.fixture(scope="session")
def server():
    # A guest deadline far above what any test's guest needs, so that a loaded machine cannot fail
    # a well-behaved call (the tests of deadlines start servers of their own).
    with serve("--timeout", "60s") as addresses:
        yield addresses[0]


@pytest.fixture(scope="session")
def channel(server):
    with grpc.insecure_channel(server, options=[("grpc.max_receive_message_length", 64 << 20)]) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel


def varint(n):
    """n as a protobuf varint."""
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number, data):
    """A length-delimited protobuf field: tag, length, bytes."""
    return varint(number << 3 | 2) + varint(len(data)) + data
