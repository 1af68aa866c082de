"""Both listeners bound their connections (`serve --max-connections`, `--header-timeout`,
`--idle-timeout`): a client that opens connections and sends nothing, or half a request head,
cannot hold them."""
import socket
import time

from conftest import serve


def closed_within(sock, seconds):
    """Whether the server closes `sock` within `seconds` (reading whatever it sends first)."""
    sock.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if sock.recv(4096) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def connect(address):
    host, port = address.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=30)


def test_a_half_sent_request_head_is_closed():
    with serve("--http-listen", "127.0.0.1:0", "--header-timeout", "1s") as (_, http):
        with connect(http) as sock:
            sock.sendall(b"POST /v1/modules HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            assert closed_within(sock, 20)


def test_idle_connections_are_closed_on_both_listeners():
    with serve("--http-listen", "127.0.0.1:0", "--idle-timeout", "1s") as (grpc_address, http):
        for address in (grpc_address, http):
            with connect(address) as sock:
                assert closed_within(sock, 20), address


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # and an empty SETTINGS frame


def answered(address, http2):
    """A new connection that the server answers (SETTINGS, or an HTTP answer), or None if it closes it."""
    sock = connect(address)
    sock.sendall(PREFACE if http2 else b"GET /openapi.yaml HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    try:
        if sock.recv(64):
            return sock
    except ConnectionResetError:
        pass
    sock.close()
    return None


def test_connections_over_the_limit_are_closed_at_once():
    with serve("--http-listen", "127.0.0.1:0", "--max-connections", "2") as (grpc_address, http):
        for address, http2 in ((grpc_address, True), (http, False)):
            held = [answered(address, http2), answered(address, http2)]
            assert all(held), address
            try:
                with connect(address) as extra:
                    assert closed_within(extra, 20), address
            finally:
                for sock in held:
                    sock.close()
            # Closed connections no longer count (once the server has seen them close).
            deadline = time.monotonic() + 20
            again = None
            while again is None and time.monotonic() < deadline:
                again = answered(address, http2)
            assert again is not None, address
            again.close()


def self_signed(directory):
    """A certificate for 127.0.0.1 and its key, as PEM files in `directory`."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .sign(key, hashes.SHA256()))
    cert, private = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert), str(private)


def tls_connect(address, alpn):
    import ssl
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols([alpn])
    host, port = address.rsplit(":", 1)
    return context.wrap_socket(socket.create_connection((host, int(port)), timeout=30), server_hostname=host)


def status_line(sock):
    """The status line of one HTTP/1.1 answer read whole from `sock` (by its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return b""
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            return b""
        body += chunk
    return head.split(b"\r\n", 1)[0]


def test_tls_connections_outlive_the_handshake_timeout(tmp_path):
    """The handshake's limit ends with the handshake: a TLS connection in use stays open past it,
    and one that never finishes its handshake is closed."""
    cert, key = self_signed(tmp_path)
    with serve("--http-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--tls-handshake-timeout", "1s") as (grpc_address, http):
        with tls_connect(http, "http/1.1") as https, tls_connect(grpc_address, "h2") as h2:
            request = b"GET /v1/log/checkpoint HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            https.sendall(request)
            assert status_line(https).startswith(b"HTTP/1.1 200")
            h2.sendall(PREFACE)
            assert h2.recv(64), "no SETTINGS from the gRPC port"
            time.sleep(3)  # three times the handshake's limit
            https.sendall(request)
            assert status_line(https).startswith(b"HTTP/1.1 200"), "the HTTPS connection was closed"
            h2.sendall(bytes([0, 0, 8, 6, 0, 0, 0, 0, 0]) + b"12345678")  # PING
            assert h2.recv(64), "the gRPC connection was closed"
        for address in (grpc_address, http):
            with connect(address) as silent:
                assert closed_within(silent, 20), address


def test_a_grpc_request_that_stops_arriving_is_closed():
    """A stream whose request never ends (HEADERS, then nothing) holds the connection only for the
    idle timeout; a call that is answered leaves it open."""
    import h2.config
    import h2.connection

    with serve("--idle-timeout", "2s") as (grpc_address,):
        connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        connection.initiate_connection()
        with connect(grpc_address) as sock:
            sock.sendall(connection.data_to_send())
            stream = connection.get_next_available_stream_id()
            connection.send_headers(stream, [(":method", "POST"), (":scheme", "http"), (":path", "/wasmrpc.v1.Invoker/Invoke"),
                                             (":authority", grpc_address), ("content-type", "application/grpc"), ("te", "trailers")])
            sock.sendall(connection.data_to_send())
            assert closed_within(sock, 20)
