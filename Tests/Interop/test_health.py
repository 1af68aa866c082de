"""The standard health service, checked with grpcio-health-checking's own stubs (no wasmrpc code)."""
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc


def test_the_server_is_serving(server):
    with grpc.insecure_channel(server) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ["", "wasmrpc.v1.Registry", "wasmrpc.v1.Invoker", "wasmrpc.v1.Log", "grpc.health.v1.Health"]:
            assert health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status == \
                health_pb2.HealthCheckResponse.SERVING, service


def test_an_unknown_service_is_not_found(server):
    with grpc.insecure_channel(server) as channel:
        with pytest.raises(grpc.RpcError) as error:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_watch_answers_at_once(server):
    with grpc.insecure_channel(server) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service, expected in [("", health_pb2.HealthCheckResponse.SERVING),
                                  ("no.such.Service", health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)]:
            stream = health.Watch(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert next(stream).status == expected, service
            stream.cancel()
