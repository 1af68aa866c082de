"""The server under an independent grpc-go client: gload (../shared/tools/gload, built from Debian's
Go packages) drives a native route and Invoke on one HTTP/2 connection with 8 calls in flight,
and the health service (grpc-swift's path) beside them; every call must succeed. `GLOAD` names a
built gload; otherwise the test builds it into a temporary directory from the shared folder beside
the checkout (`WASMRPC_SHARED`, default ../shared)."""
import json
import os
import pathlib
import subprocess

import grpc
import pytest

from conftest import REPO, field, serve
from test_native import add_complex

MUL_REQUEST = "0a0a0d0000803f1500000040120a0d000040401500008040"
CALLS = 3000


@pytest.fixture(scope="module")
def gload(tmp_path_factory):
    if os.environ.get("GLOAD"):
        return os.environ["GLOAD"]
    build = pathlib.Path(os.environ.get("WASMRPC_SHARED", REPO.parent / "shared")) / "tools/gload/build.sh"
    if not build.exists():
        pytest.fail(f"gload not found: set GLOAD, or WASMRPC_SHARED to the shared folder ({build} does not exist)")
    out = tmp_path_factory.mktemp("gload") / "gload"
    subprocess.run(["sh", str(build)], env={**os.environ, "GLOAD_OUT": str(out)}, check=True, stdout=subprocess.DEVNULL)
    return str(out)


def run(gload, address, method, body, tmp_path, *extra):
    path = tmp_path / (method.strip("/").replace("/", "_") + ".hex")
    path.write_text(body)
    result = subprocess.run(
        [gload, "-addr", address, "-method", method, "-body", str(path), "-c", "8", "-n", str(CALLS), "-d", "120s", *extra],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_grpc_go_drives_native_routes_invoke_and_health(gload, tmp_path):
    with serve("--timeout", "60s") as (address,):
        with grpc.insecure_channel(address) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            module = add_complex(channel)
        any_message = field(1, b"type.googleapis.com/complex.ComplexRequest") + field(2, bytes.fromhex(MUL_REQUEST))
        invoke = field(1, field(1, module.encode())) + field(2, field(1, b"mul") + field(2, any_message))
        for method, body, extra in [
            ("/complex.Calculator/mul", MUL_REQUEST, ["-md", f"wasmrpc-module-id={module}"]),
            ("/wasmrpc.v1.Invoker/Invoke", invoke.hex(), []),
            ("/grpc.health.v1.Health/Check", "", []),
        ]:
            report = run(gload, address, method, body, tmp_path, *extra)
            assert report["errors"] == 0 and report["requests"] == CALLS, (method, report)
