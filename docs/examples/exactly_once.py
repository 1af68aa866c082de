"""Exactly-once calls to a wasmrpc method that changes state, from Python with grpcio and no
generated code (docs/CHAINCODE.md, "Exactly-once calls").

    python3 exactly_once.py HOST:PORT[,HOST:PORT…] /counter.Counter/Add 0a036865791001 [KEY]

sends the request (hex of its protobuf bytes; here counter.AddRequest{name: "hey", by: 1}) with
the idempotency key KEY (a new one if not given), to each server in turn until one answers: after
ABORTED (the transaction kept conflicting; nothing was committed), UNAVAILABLE (a server or replica
could not answer), UNKNOWN (the server could not tell whether it committed) or DEADLINE_EXCEEDED
(this client stopped waiting; the call may have committed) it sends the same bytes with the same
key again, so the state changes at most once however often it is sent. Prints the response's hex, the key, whether the answer is the stored answer of an
earlier call with the key, and the transaction's id.
"""
import random
import sys
import time
import uuid

import grpc

RETRYABLE = (grpc.StatusCode.ABORTED, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED)


def call_exactly_once(channels, method, request, key=None, module=None, attempts=8, timeout=30):
    """Calls `method` (`/package.Service/Method`) with the bytes `request` and the idempotency key
    `key` through `channels`, one after another, until one answers; returns (response bytes,
    response headers, key). `module` pins the module that answers (`wasmrpc-module-id`)."""
    key = key or uuid.uuid4().hex
    metadata = [("wasmrpc-idempotency-key", key)]
    if module:
        metadata.append(("wasmrpc-module-id", module))
    for attempt in range(attempts):
        call = channels[attempt % len(channels)].unary_unary(method)  # bytes in, bytes out
        try:
            response, rpc = call.with_call(request, metadata=metadata, timeout=timeout)
            return response, dict(rpc.initial_metadata()), key
        except grpc.RpcError as error:
            if error.code() not in RETRYABLE or attempt == attempts - 1:
                raise
            # Full jitter: a random wait up to a bound that doubles, so that retries spread out.
            time.sleep(random.uniform(0, min(2.0, 0.1 * 2 ** attempt)))
    raise AssertionError("unreachable")


def main(argv):
    if len(argv) not in (4, 5):
        sys.exit(__doc__)
    channels = [grpc.insecure_channel(address) for address in argv[1].split(",")]
    response, headers, key = call_exactly_once(channels, argv[2], bytes.fromhex(argv[3]), argv[4] if len(argv) == 5 else None)
    print("response", response.hex())
    print("key", key)
    print("replayed", str(headers.get("wasmrpc-idempotent-replay") == "true").lower())
    print("transaction", headers.get("wasmrpc-transaction", ""))


if __name__ == "__main__":
    main(sys.argv)
