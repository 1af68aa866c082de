"""The server's HTTP/2 transport at the protocol level, driven by the h2 library over a plain socket
(what no gRPC client library would send): requests that are not gRPC calls, compression, broken
request streams on direct calls (Invoke and native routes answered by the connection itself), a
request larger than the flow-control window, a reset stream followed by more calls on the same
connection, and the policing of pings."""
import socket
import struct

import grpc
import h2.config
import h2.connection
import h2.errors
import h2.events
import pytest

from conftest import field, serve
from test_native import add_complex

# A ComplexRequest for (1+2i)(3+4i).
MUL_REQUEST = bytes.fromhex("0a0a0d0000803f1500000040120a0d000040401500008040")
LIMIT = 2 << 20  # --max-module-bytes 1MiB + --max-descriptor-bytes 64KiB + 1 MiB ≥ this, < 4 MiB


def framed(message, compressed=0):
    return struct.pack(">BI", compressed, len(message)) + message


class Raw:
    """One HTTP/2 connection over a socket, with h2 doing the framing and flow control."""

    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.responses = {}  # stream id -> {"headers": [...], "data": b"", "trailers": [...], "reset": code, "ended": bool}
        self.ping_acks = 0
        self.goaway = None  # the ConnectionTerminated event

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def headers(self, path, method="POST", content_type="application/grpc", extra=()):
        stream = self.conn.get_next_available_stream_id()
        headers = [(":method", method), (":scheme", "http"), (":path", path), (":authority", "wasmrpc"), ("te", "trailers")]
        if content_type:
            headers.append(("content-type", content_type))
        self.conn.send_headers(stream, headers + list(extra))
        self.flush()
        self.responses[stream] = {"headers": [], "data": b"", "trailers": [], "reset": None, "ended": False}
        return stream

    def send(self, stream, data, end=False):
        """Sends `data`, as fast as the server's window lets it (reading its window updates)."""
        view = memoryview(data)
        while True:
            room = min(self.conn.local_flow_control_window(stream), self.conn.max_outbound_frame_size)
            chunk = view[:room]
            if len(chunk) or not len(view):
                last = len(chunk) == len(view)
                self.conn.send_data(stream, bytes(chunk), end_stream=end and last)
                self.flush()
                view = view[len(chunk):]
                if last:
                    return
            else:
                self.read_once()

    def reset(self, stream):
        self.conn.reset_stream(stream)
        self.flush()

    def read_once(self):
        data = self.sock.recv(65536)
        assert data, "the server closed the connection"
        for event in self.conn.receive_data(data):
            response = self.responses.get(getattr(event, "stream_id", None))
            if isinstance(event, h2.events.ResponseReceived):
                response["headers"] = event.headers
            elif isinstance(event, h2.events.TrailersReceived):
                response["trailers"] = event.headers
            elif isinstance(event, h2.events.DataReceived):
                response["data"] += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamReset) and response is not None:
                response["reset"] = event.error_code
                response["ended"] = True
            elif isinstance(event, h2.events.StreamEnded):
                response["ended"] = True
            elif isinstance(event, h2.events.PingAckReceived):
                self.ping_acks += 1
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = event
        self.flush()

    def ping(self, n):
        self.conn.ping(struct.pack(">Q", n))
        self.flush()

    def wait(self, stream):
        """The response of `stream` once it ended: (headers, data, trailers) as dicts/bytes."""
        while not self.responses[stream]["ended"]:
            self.read_once()
        response = self.responses[stream]
        return dict(response["headers"]), response["data"], dict(response["trailers"])

    def close(self):
        self.sock.close()


def status_of(headers, trailers):
    """grpc-status and grpc-message, from the trailers or a trailers-only response."""
    fields = trailers or headers
    return int(fields["grpc-status"]), fields.get("grpc-message", "")


@pytest.fixture(scope="module")
def server():
    with serve("--timeout", "60s", "--max-module-bytes", "1MiB", "--max-descriptor-bytes", "64KiB") as (address,):
        with grpc.insecure_channel(address) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            module = add_complex(channel)  # Add loads it: its calls are direct from now on
        yield address, module


@pytest.fixture
def raw(server):
    connection = Raw(server[0])
    yield connection
    connection.close()


def test_a_direct_call_answers_with_headers_message_and_trailers(raw, server):
    stream = raw.headers("/complex.Calculator/mul", extra=[("wasmrpc-module-id", server[1]), ("x-request-id", "raw-1")])
    raw.send(stream, framed(MUL_REQUEST), end=True)
    headers, data, trailers = raw.wait(stream)
    assert headers[":status"] == "200" and headers["content-type"].startswith("application/grpc")
    assert headers["x-request-id"] == "raw-1" and headers["wasmrpc-module-id"] == server[1]
    assert status_of(headers, trailers) == (0, "")
    compressed, length = struct.unpack(">BI", data[:5])
    assert compressed == 0 and length == len(data) - 5
    # ComplexResponse{result: {real: -5, imag: 10}}
    assert data[5:] == bytes.fromhex("0a0a0d0000a0c01500002041")


@pytest.mark.parametrize("method,content_type,http_status", [("GET", "application/grpc", "405"), ("POST", "text/plain", "415"),
                                                              ("POST", None, "415")])
def test_requests_that_are_not_grpc_calls_are_refused(raw, method, content_type, http_status):
    stream = raw.headers("/complex.Calculator/mul", method=method, content_type=content_type)
    raw.send(stream, framed(MUL_REQUEST), end=True)
    headers, _, trailers = raw.wait(stream)
    assert headers[":status"] == http_status
    assert status_of(headers, trailers)[0] == grpc.StatusCode.INTERNAL.value[0]


def test_a_request_without_a_body_is_refused_cleanly(raw):
    # GET with END_STREAM on its headers (a browser's or curl's request): refused, and the
    # connection goes on serving.
    stream = raw.conn.get_next_available_stream_id()
    raw.conn.send_headers(stream, [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "wasmrpc")], end_stream=True)
    raw.flush()
    raw.responses[stream] = {"headers": [], "data": b"", "trailers": [], "reset": None, "ended": False}
    headers, _, _ = raw.wait(stream)
    assert headers[":status"] == "405"
    follow = raw.headers("/grpc.health.v1.Health/Check")
    raw.send(follow, framed(b""), end=True)
    headers, _, trailers = raw.wait(follow)
    assert status_of(headers, trailers) == (0, "")


@pytest.mark.parametrize("path", ["/complex.Calculator/mul", "/wasmrpc.v1.Invoker/Invoke", "/grpc.health.v1.Health/Check"])
def test_compression_is_refused_and_the_accepted_encoding_named(raw, path):
    stream = raw.headers(path, extra=[("grpc-encoding", "gzip")])
    raw.send(stream, framed(MUL_REQUEST, compressed=1), end=True)
    headers, _, trailers = raw.wait(stream)
    assert headers[":status"] == "200"
    assert status_of(headers, trailers)[0] == grpc.StatusCode.UNIMPLEMENTED.value[0]
    assert headers["grpc-accept-encoding"] == "identity"


@pytest.mark.parametrize("path", ["/complex.Calculator/mul", "/wasmrpc.v1.Invoker/Invoke"])
def test_broken_request_streams_of_direct_calls_are_internal_errors(raw, server, path):
    extra = [("wasmrpc-module-id", server[1])]
    cases = {
        "two messages": framed(MUL_REQUEST) + framed(MUL_REQUEST),
        "no message": b"",
        "half a message": framed(MUL_REQUEST)[:9],
        "a compressed flag without grpc-encoding": framed(MUL_REQUEST, compressed=1),
    }
    for name, body in cases.items():
        stream = raw.headers(path, extra=extra)
        raw.send(stream, body, end=True)
        headers, data, trailers = raw.wait(stream)
        assert status_of(headers, trailers)[0] == grpc.StatusCode.INTERNAL.value[0], name
        assert data == b"", name


@pytest.mark.parametrize("path", ["/complex.Calculator/mul", "/wasmrpc.v1.Invoker/Invoke", "/wasmrpc.v1.Registry/Add"])
def test_a_message_over_the_limit_is_refused_before_its_bytes_arrive(raw, server, path):
    stream = raw.headers(path, extra=[("wasmrpc-module-id", server[1])])
    raw.send(stream, struct.pack(">BI", 0, 100 << 20))  # the length prefix only; the stream stays open
    headers, _, trailers = raw.wait(stream)
    status, message = status_of(headers, trailers)
    assert status == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0], message
    while raw.responses[stream]["reset"] is None:  # and the server stops the upload
        raw.read_once()


def test_a_request_larger_than_the_window_arrives_whole(raw, server):
    # An Invoke of almost 2 MiB, twice the stream's flow-control window: the server keeps the window
    # open, the whole request arrives, and the call is answered (the parameters are not a
    # ComplexRequest: INVALID_ARGUMENT).
    parameters = b"\xff" * (LIMIT - 4096)
    any_message = field(1, b"type.googleapis.com/complex.ComplexRequest") + field(2, parameters)
    request = field(1, field(1, server[1].encode())) + field(2, field(1, b"mul") + field(2, any_message))
    assert len(request) > 1 << 20
    stream = raw.headers("/wasmrpc.v1.Invoker/Invoke")
    raw.send(stream, framed(request), end=True)
    headers, _, trailers = raw.wait(stream)
    assert status_of(headers, trailers)[0] == grpc.StatusCode.INVALID_ARGUMENT.value[0]


def test_a_reset_stream_leaves_the_connection_serving(raw, server):
    extra = [("wasmrpc-module-id", server[1])]
    for path in ["/complex.Calculator/mul", "/grpc.health.v1.Health/Check"]:
        stream = raw.headers(path, extra=extra)
        raw.send(stream, framed(MUL_REQUEST)[:7])
        raw.reset(stream)
    stream = raw.headers("/complex.Calculator/mul", extra=extra)
    raw.send(stream, framed(MUL_REQUEST), end=True)
    headers, data, trailers = raw.wait(stream)
    assert status_of(headers, trailers) == (0, "")
    assert data[5:] == bytes.fromhex("0a0a0d0000a0c01500002041")



def test_pings_that_come_with_calls_are_answered(raw, server):
    # grpc-go's clients ping about once per round trip while answers arrive (to size their
    # flow-control windows): far more than NIO's default of 200 control frames in 30 s, which
    # closed their connections every few hundred calls.
    extra = [("wasmrpc-module-id", server[1])]
    for n in range(300):
        raw.ping(n)
        stream = raw.headers("/complex.Calculator/mul" if n % 2 else "/grpc.health.v1.Health/Check", extra=extra)
        raw.send(stream, framed(MUL_REQUEST if n % 2 else b""), end=True)
        headers, _, trailers = raw.wait(stream)
        assert status_of(headers, trailers) == (0, ""), n
    while raw.ping_acks < 300:
        raw.read_once()
    assert raw.goaway is None


def test_pings_without_calls_end_the_connection(raw):
    # gRPC's keepalive enforcement: with nothing sent in between, the second and third pings within
    # 5 minutes are strikes, and the fourth ends the connection with ENHANCE_YOUR_CALM.
    for n in range(4):
        raw.ping(n)
    while raw.goaway is None:
        raw.read_once()
    assert raw.goaway.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    assert raw.goaway.additional_data == b"too_many_pings"
    assert raw.ping_acks >= 3  # (NIO's handler acknowledges the fourth too, before it is judged)
