"""Acceptance for native routes: a stock Python client with only grpcio and grpcio-reflection (no
code generated from any .proto) discovers the services by server reflection, builds its messages
from the descriptors the server returns, adds the complex module, calls /complex.Calculator/mul
natively, checks health, runs a 1,000-request InvokeStream, and scrapes /metrics."""
import re
import urllib.request

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from conftest import REPO, serve

COMPLEX_WASM = (REPO / "Guests/complex/complex.wasm").read_bytes()
# A FileDescriptorSet file (protoc --descriptor_set_out), not generated code.
COMPLEX_DESCRIPTOR_SET = (REPO / "Guests/complex/complex.pb").read_bytes()


@pytest.fixture(scope="module")
def native():
    with serve("--metrics-listen", "127.0.0.1:0", "--timeout", "60s") as (address, metrics):
        with grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 64 << 20)]) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            yield channel, metrics


class Reflected:
    """Message classes and callables built from what the server's reflection returns."""

    def __init__(self, channel):
        self.channel = channel
        self.database = ProtoReflectionDescriptorDatabase(channel)
        self.pool = descriptor_pool.DescriptorPool(self.database)

    def services(self):
        return set(self.database.get_services())

    def method(self, service_name, method_name):
        method = self.pool.FindServiceByName(service_name).methods_by_name[method_name]
        request = message_factory.GetMessageClass(method.input_type)
        response = message_factory.GetMessageClass(method.output_type)
        path = f"/{service_name}/{method_name}"
        if method.client_streaming and method.server_streaming:
            call = self.channel.stream_stream(path, request_serializer=request.SerializeToString,
                                              response_deserializer=response.FromString)
        else:
            call = self.channel.unary_unary(path, request_serializer=request.SerializeToString,
                                            response_deserializer=response.FromString)
        return request, response, call


def add_complex(channel):
    reflected = Reflected(channel)
    AddRequest, _, add = reflected.method("wasmrpc.v1.Registry", "Add")
    request = AddRequest(wasm=COMPLEX_WASM)
    request.descriptor.MergeFromString(COMPLEX_DESCRIPTOR_SET)
    return add(request, timeout=30).metadata.id


def test_reflection_discovers_and_a_native_call_answers(native):
    channel, _ = native
    module_id = add_complex(channel)
    reflected = Reflected(channel)  # a fresh pool: the module's files exist now
    assert {"complex.Calculator", "wasmrpc.v1.Registry", "wasmrpc.v1.Invoker", "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} <= reflected.services()

    ComplexRequest, _, mul = reflected.method("complex.Calculator", "mul")
    request = ComplexRequest()
    request.a.real, request.a.imag, request.b.real, request.b.imag = 1, 2, 3, 4
    response, call = mul.with_call(request, timeout=10)
    assert (response.result.real, response.result.imag) == (-5, 10)
    assert dict(call.initial_metadata())["wasmrpc-module-id"] == module_id

    # Pinned to the module by header; an unknown module is NOT_FOUND.
    pinned = mul(request, timeout=10, metadata=[("wasmrpc-module-id", module_id)])
    assert (pinned.result.real, pinned.result.imag) == (-5, 10)
    with pytest.raises(grpc.RpcError) as failure:
        mul(request, timeout=10, metadata=[("wasmrpc-module-id", "0" * 64)])
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND

    # A method nobody defines.
    unknown = channel.unary_unary("/complex.Calculator/pow", request_serializer=ComplexRequest.SerializeToString)
    with pytest.raises(grpc.RpcError) as failure:
        unknown(request, timeout=10)
    assert failure.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_reflection_v1_lists_the_same_services(native):
    """grpcio-reflection's client speaks v1alpha; v1 has the same messages, so its classes serve here."""
    channel, _ = native
    add_complex(channel)
    info = channel.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                 request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    answers = list(info(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10))
    names = {service.name for service in answers[0].list_services_response.service}
    assert "complex.Calculator" in names and "grpc.reflection.v1.ServerReflection" in names


def test_health_knows_the_uploaded_service(native):
    channel, _ = native
    add_complex(channel)
    HealthCheckRequest, HealthCheckResponse, check = Reflected(channel).method("grpc.health.v1.Health", "Check")
    serving = HealthCheckResponse.ServingStatus.Value("SERVING")
    assert check(HealthCheckRequest(service="complex.Calculator"), timeout=10).status == serving
    assert check(HealthCheckRequest(service=""), timeout=10).status == serving


def test_invoke_stream_of_a_thousand_requests(native):
    channel, _ = native
    module_id = add_complex(channel)
    reflected = Reflected(channel)
    ComplexRequest, ComplexResponse, _ = reflected.method("complex.Calculator", "mul")
    InvokeRequest, _, invoke_stream = reflected.method("wasmrpc.v1.Invoker", "InvokeStream")
    operands = [((i % 97 - 48, i % 13), (i % 5 + 1, -(i % 3))) for i in range(1000)]

    def requests():
        for a, b in operands:
            message = ComplexRequest()
            message.a.real, message.a.imag, message.b.real, message.b.imag = a[0], a[1], b[0], b[1]
            request = InvokeRequest()
            request.metadata.id = module_id
            request.request.name = "mul"
            request.request.parameters.type_url = "type.googleapis.com/complex.ComplexRequest"
            request.request.parameters.value = message.SerializeToString()
            yield request

    answers = []
    for response in invoke_stream(requests(), timeout=60):
        assert response.response.result.type_url == "type.googleapis.com/complex.ComplexResponse"
        result = ComplexResponse.FromString(response.response.result.value)
        answers.append((result.result.real, result.result.imag))
    assert answers == [(a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]) for a, b in operands]


def sample(text, name, **labels):
    """The value of the sample `name` whose labels include `labels`, summed over the rest."""
    total = None
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            total = (total or 0) + float(match.group(3))
    return total


def test_metrics_count_the_calls(native):
    channel, metrics = native
    module_id = add_complex(channel)

    def scrape():
        with urllib.request.urlopen(f"http://{metrics}/metrics", timeout=10) as response:
            assert response.status == 200
            return response.read().decode()

    before = scrape()
    ComplexRequest, _, mul = Reflected(channel).method("complex.Calculator", "mul")
    for _ in range(5):
        mul(ComplexRequest(), timeout=10)
    after = scrape()
    labels = {"module": module_id, "function": "complex.Calculator/mul", "code": "ok"}
    assert (sample(after, "wasmrpc_invocations_total", **labels) or 0) - (sample(before, "wasmrpc_invocations_total", **labels) or 0) == 5
    assert sample(after, "wasmrpc_grpc_calls_total", method="complex.Calculator/mul", code="ok") >= 5
    assert sample(after, "wasmrpc_modules_added_total") >= 1
    assert sample(after, "wasmrpc_invocation_duration_seconds_count", module=module_id) >= 5
    assert sample(after, "wasmrpc_fuel_used_total", module=module_id) > 0
    assert sample(after, "wasmrpc_log_size_entries") == 1
    assert sample(after, "wasmrpc_loaded_modules") >= 1
