"""A Python gRPC client (stubs generated from proto/) against `wasmrpc serve`: the wire API as any
language sees it."""
import hashlib

import grpc
import pytest
from google.protobuf import any_pb2, descriptor_pb2

from conftest import REPO

COMPLEX_WASM = (REPO / "Guests/complex/complex.wasm").read_bytes()


def complex_descriptor(complex_pb2):
    """The FileDescriptorSet of complex.proto, taken from the Python module protoc generated."""
    file = descriptor_pb2.FileDescriptorProto()
    complex_pb2.DESCRIPTOR.CopyToProto(file)
    return descriptor_pb2.FileDescriptorSet(file=[file])


@pytest.fixture(scope="module")
def api(stubs, channel):
    wasmrpc_pb2, wasmrpc_pb2_grpc, complex_pb2 = stubs
    registry = wasmrpc_pb2_grpc.RegistryStub(channel)
    invoker = wasmrpc_pb2_grpc.InvokerStub(channel)
    added = registry.Add(wasmrpc_pb2.AddRequest(wasm=COMPLEX_WASM, descriptor=complex_descriptor(complex_pb2)), timeout=30)
    return wasmrpc_pb2, registry, invoker, complex_pb2, added.metadata.id


def invoke(api, name, parameters, module_id=None, timeout=10):
    wasmrpc_pb2, _, invoker, _, default_id = api
    request = wasmrpc_pb2.InvokeRequest(
        metadata=wasmrpc_pb2.Metadata(id=module_id or default_id),
        request=wasmrpc_pb2.FunctionRequest(name=name, parameters=parameters))
    return invoker.Invoke(request, timeout=timeout)


def mul_request(complex_pb2, a, b):
    parameters = any_pb2.Any()
    parameters.Pack(complex_pb2.ComplexRequest(a=complex_pb2.Complex(real=a[0], imag=a[1]),
                                               b=complex_pb2.Complex(real=b[0], imag=b[1])))
    return parameters


def status_of(call):
    with pytest.raises(grpc.RpcError) as failure:
        call()
    return failure.value.code()


def test_add_returns_the_sha256_id_and_the_functions(api):
    wasmrpc_pb2, registry, _, complex_pb2, module_id = api
    assert module_id == hashlib.sha256(COMPLEX_WASM).hexdigest()
    again = registry.Add(wasmrpc_pb2.AddRequest(wasm=COMPLEX_WASM, descriptor=complex_descriptor(complex_pb2)))
    assert again.created is False
    assert again.metadata.id == module_id
    assert [f.path for f in again.metadata.functions] == ["/complex.Calculator/mul"]


def test_get_returns_the_same_bytes(api):
    wasmrpc_pb2, registry, _, _, module_id = api
    response = registry.Get(wasmrpc_pb2.GetRequest(id=module_id))
    assert response.wasm == COMPLEX_WASM
    assert hashlib.sha256(response.wasm).hexdigest() == module_id
    assert response.metadata.size == len(COMPLEX_WASM)
    assert response.metadata.descriptor.file[0].package == "complex"


def test_list_includes_the_module(api):
    wasmrpc_pb2, registry, _, _, module_id = api
    listed = registry.List(wasmrpc_pb2.ListRequest())
    assert module_id in [m.id for m in listed.modules]
    assert listed.next_page_token == ""


def test_invoke_mul_with_a_python_built_message(api):
    _, _, _, complex_pb2, _ = api
    # (1.5 + 2i)(3 - 4i) = 4.5 + 8 + (-6 + 6)i = 12.5 + 0i; exact in float32.
    response = invoke(api, "mul", mul_request(complex_pb2, (1.5, 2.0), (3.0, -4.0)))
    result = response.response.result
    assert result.type_url == "type.googleapis.com/complex.ComplexResponse"
    answer = complex_pb2.ComplexResponse()
    assert result.Unpack(answer)
    assert (answer.result.real, answer.result.imag) == (12.5, 0.0)


@pytest.mark.parametrize("name", ["Calculator/mul", "complex.Calculator/mul"])
def test_qualified_function_names(api, name):
    _, _, _, complex_pb2, _ = api
    answer = complex_pb2.ComplexResponse()
    invoke(api, name, mul_request(complex_pb2, (0.0, 1.0), (0.0, 1.0))).response.result.Unpack(answer)
    assert (answer.result.real, answer.result.imag) == (-1.0, 0.0)


def test_unknown_module_is_not_found(api):
    _, _, _, complex_pb2, _ = api
    unknown = hashlib.sha256(b"nothing").hexdigest()
    assert status_of(lambda: invoke(api, "mul", mul_request(complex_pb2, (1, 1), (1, 1)), module_id=unknown)) \
        == grpc.StatusCode.NOT_FOUND
    wasmrpc_pb2, registry, _, _, _ = api
    assert status_of(lambda: registry.Get(wasmrpc_pb2.GetRequest(id=unknown))) == grpc.StatusCode.NOT_FOUND
    assert status_of(lambda: registry.Get(wasmrpc_pb2.GetRequest(id="../etc/passwd"))) == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_function_is_not_found(api):
    _, _, _, complex_pb2, _ = api
    assert status_of(lambda: invoke(api, "div", mul_request(complex_pb2, (1, 1), (1, 1)))) == grpc.StatusCode.NOT_FOUND


def test_wrong_type_url_is_invalid_argument(api):
    _, _, _, complex_pb2, _ = api
    parameters = any_pb2.Any()
    parameters.Pack(complex_pb2.Complex(real=1, imag=2))  # a Complex, not a ComplexRequest
    assert status_of(lambda: invoke(api, "mul", parameters)) == grpc.StatusCode.INVALID_ARGUMENT


def test_garbage_parameters_are_invalid_argument(api):
    garbage = any_pb2.Any(type_url="type.googleapis.com/complex.ComplexRequest", value=b"\x0a\x64\x01")
    assert status_of(lambda: invoke(api, "mul", garbage)) == grpc.StatusCode.INVALID_ARGUMENT


def test_garbage_wasm_is_invalid_argument(api):
    wasmrpc_pb2, registry, _, complex_pb2, _ = api
    request = wasmrpc_pb2.AddRequest(wasm=b"\x00asm garbage", descriptor=complex_descriptor(complex_pb2))
    assert status_of(lambda: registry.Add(request)) == grpc.StatusCode.INVALID_ARGUMENT


def test_invoke_stream_answers_a_thousand_requests_in_order(api):
    """Bidirectional InvokeStream: 1,000 `mul` requests on one stream, answered in order. Small
    integers keep float32 products exact, so each answer is compared bit for bit."""
    wasmrpc_pb2, _, invoker, complex_pb2, module_id = api
    operands = [((i % 97 - 48, i % 13), (i % 5 + 1, -(i % 3))) for i in range(1000)]

    def requests():
        for a, b in operands:
            yield wasmrpc_pb2.InvokeRequest(
                metadata=wasmrpc_pb2.Metadata(id=module_id),
                request=wasmrpc_pb2.FunctionRequest(name="mul", parameters=mul_request(complex_pb2, a, b)))

    answers = []
    for response in invoker.InvokeStream(requests(), timeout=60):
        result = complex_pb2.ComplexResponse()
        assert response.response.result.Unpack(result)
        answers.append((result.result.real, result.result.imag))
    expected = [(a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]) for a, b in operands]
    assert answers == expected
