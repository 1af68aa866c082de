"""fabcar as chaincode, from a plain grpcio client: the Swift and the Rust guest called at their
native paths, their transactions fetched from the State service, and every receipt verified by
code written here (RFC 9162 inclusion proofs, C2SP signed notes with Ed25519), not the project's."""
import base64
import hashlib
import sys

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from grpc_tools import protoc

from conftest import REPO

FABCAR_SET = (REPO / "Guests/fabcar/fabcar.pb").read_bytes()
GUESTS = {"swift": REPO / "Guests/fabcar/fabcar.wasm", "rust": REPO / "Guests/rust/fabcar/fabcar.wasm"}


# ---- independent verification -------------------------------------------------------------

def leaf_hash(leaf):
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(index, size, leaf_digest, proof):
    """RFC 9162 §2.1.3.2: the root that the proof leads to from the leaf."""
    if not 0 <= index < size:
        raise ValueError("index out of range")
    fn, sn, r = index, size - 1, leaf_digest
    for p in proof:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def verify_note(note, verifier_key):
    """A C2SP signed note signed by the Ed25519 key `name+hash+base64(0x01 || key)`; returns the body."""
    name, key_hash_hex, encoded = verifier_key.split("+", 2)
    raw = base64.b64decode(encoded)
    assert raw[0] == 0x01 and len(raw) == 33
    key_hash = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    assert key_hash.hex() == key_hash_hex
    body, _, signatures = note.rpartition("\n\n")
    body += "\n"
    for line in signatures.strip("\n").split("\n"):
        prefix = "\u2014 " + name + " "
        if not line.startswith(prefix):
            continue
        signature = base64.b64decode(line[len(prefix):])
        if signature[:4] != key_hash:
            continue
        Ed25519PublicKey.from_public_bytes(raw[1:]).verify(signature[4:], body.encode())  # raises if bad
        return body
    raise AssertionError("no signature by the log's key")


def verify_receipt(receipt, verifier_key):
    """The checkpoint is signed by the key and the leaf is in its tree; returns the tree size."""
    origin, size, root, *_ = verify_note(receipt.checkpoint, verifier_key).split("\n")
    assert int(size) == receipt.tree_size
    got = root_from_inclusion_proof(receipt.leaf_index, receipt.tree_size, leaf_hash(receipt.leaf), list(receipt.inclusion_proof))
    assert got == base64.b64decode(root), "the inclusion proof does not lead to the signed root"
    return int(size)


def parse_leaf(leaf):
    lines = leaf.decode().split("\n")
    assert lines[0] == "wasmrpc transaction v1" and lines[-1] == "" and len(lines) == 11
    fields = dict(line.split(" ", 1) for line in lines[1:-1])
    assert list(fields) == ["module", "sequence", "method", "input", "output", "reads", "writes", "time", "nonce"]
    return fields


# ---- fixtures ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fabcar(stubs, channel, tmp_path_factory):
    wasmrpc_pb2, wasmrpc_pb2_grpc, _ = stubs
    out = tmp_path_factory.mktemp("fabcar")
    assert protoc.main(["protoc", f"-I{REPO / 'Guests/fabcar'}", f"--python_out={out}", "fabcar.proto"]) == 0
    sys.path.insert(0, str(out))
    import fabcar_pb2  # noqa: E402

    registry = wasmrpc_pb2_grpc.RegistryStub(channel)
    ids = {}
    for name, path in GUESTS.items():
        request = wasmrpc_pb2.AddRequest(wasm=path.read_bytes(), name=f"fabcar-{name}")
        request.descriptor.MergeFromString(FABCAR_SET)
        ids[name] = registry.Add(request, timeout=60).metadata.id
    key = wasmrpc_pb2_grpc.LogStub(channel).GetCheckpoint(wasmrpc_pb2.GetCheckpointRequest()).verifier_key
    return wasmrpc_pb2, wasmrpc_pb2_grpc, fabcar_pb2, ids, key


def native(channel, method, request, response_type, module):
    """A plain unary gRPC call at the method's own path, pinned to one module; the answer and the
    response headers."""
    call = channel.unary_unary(f"/fabcar.FabCar/{method}", request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_type.FromString)
    response, rpc = call.with_call(request, metadata=[("wasmrpc-module-id", module)], timeout=60)
    return response, dict(rpc.initial_metadata())


# ---- tests -------------------------------------------------------------------------------

@pytest.mark.parametrize("guest", list(GUESTS))
def test_fabcar_transactions_have_receipts_that_verify_independently(fabcar, channel, guest):
    wasmrpc_pb2, wasmrpc_pb2_grpc, fabcar_pb2, ids, key = fabcar
    module = ids[guest]
    state = wasmrpc_pb2_grpc.StateStub(channel)

    cars, headers = native(channel, "InitLedger", fabcar_pb2.Empty(), fabcar_pb2.CarList, module)
    assert [car.key for car in cars.cars] == [f"CAR{n}" for n in range(10)]
    assert "wasmrpc-transaction" in headers

    request = fabcar_pb2.ChangeCarOwnerRequest(key="CAR1", new_owner="Grace")
    changed, headers = native(channel, "ChangeCarOwner", request, fabcar_pb2.CarRecord, module)
    assert changed.car.owner == "Grace" and changed.car.make == "Ford"
    transaction_id = headers["wasmrpc-transaction"]

    fetched = state.GetTransaction(wasmrpc_pb2.GetTransactionRequest(id=transaction_id), timeout=30)
    record, receipt = fetched.transaction, fetched.receipt
    fields = parse_leaf(receipt.leaf)
    assert hashlib.sha256(receipt.leaf).hexdigest() == transaction_id == record.id
    assert fields["module"] == module and fields["method"] == "/fabcar.FabCar/ChangeCarOwner"
    assert fields["sequence"] == "2" == str(record.sequence)
    # The leaf commits to what this client sent and received, and to the stored read and write sets.
    assert fields["input"] == hashlib.sha256(request.SerializeToString()).hexdigest()
    assert fields["output"] == hashlib.sha256(changed.SerializeToString()).hexdigest()
    assert fields["reads"] == hashlib.sha256(record.read_set).hexdigest()
    assert fields["writes"] == hashlib.sha256(record.write_set).hexdigest()
    assert fields["time"] == str(record.time_unix_nanos) and fields["nonce"] == record.nonce.hex()
    writes = wasmrpc_pb2.WriteSet.FromString(record.write_set)
    assert [(w.key, fabcar_pb2.Car.FromString(w.value).owner) for w in writes.writes] == [(b"CAR1", "Grace")]
    verify_receipt(receipt, key)

    # A query records nothing and sees the committed state.
    queried, headers = native(channel, "QueryCar", fabcar_pb2.CarKey(key="CAR1"), fabcar_pb2.CarRecord, module)
    assert queried.car.owner == "Grace" and "wasmrpc-transaction" not in headers
    listed = state.ListTransactions(wasmrpc_pb2.ListTransactionsRequest(module_id=module), timeout=30)
    assert [t.sequence for t in listed.transactions] == [1, 2] and not listed.more

    # Invoke answers with the receipt itself.
    create = fabcar_pb2.CreateCarRequest(key="CAR12", car=fabcar_pb2.Car(make="Kia", model="Rio", colour="red", owner="Lin"))
    invoked = wasmrpc_pb2_grpc.InvokerStub(channel).Invoke(wasmrpc_pb2.InvokeRequest(
        metadata=wasmrpc_pb2.Metadata(id=module),
        request=wasmrpc_pb2.FunctionRequest(name="CreateCar", parameters={
            "type_url": "type.googleapis.com/fabcar.CreateCarRequest", "value": create.SerializeToString()})), timeout=60)
    fields = parse_leaf(invoked.transaction.receipt.leaf)
    assert fields["sequence"] == "3" and invoked.transaction.sequence == 3
    assert fields["output"] == hashlib.sha256(invoked.response.result.value).hexdigest()
    assert verify_receipt(invoked.transaction.receipt, key) >= 3

    value = state.Get(wasmrpc_pb2.GetStateRequest(module_id=module, key=b"CAR12"), timeout=30)
    assert value.found and fabcar_pb2.Car.FromString(value.value).owner == "Lin"


def test_a_tampered_receipt_fails_the_independent_checks(fabcar, channel):
    wasmrpc_pb2, wasmrpc_pb2_grpc, fabcar_pb2, ids, key = fabcar
    module = ids["swift"]
    _, headers = native(channel, "CreateCar", fabcar_pb2.CreateCarRequest(key="CAR20"), fabcar_pb2.CarRecord, module)
    receipt = wasmrpc_pb2_grpc.StateStub(channel).GetTransaction(
        wasmrpc_pb2.GetTransactionRequest(id=headers["wasmrpc-transaction"]), timeout=30).receipt
    verify_receipt(receipt, key)
    forged = wasmrpc_pb2.LogReceipt()
    forged.CopyFrom(receipt)
    forged.leaf = receipt.leaf.replace(b"sequence ", b"sequence 9")
    with pytest.raises(AssertionError):
        verify_receipt(forged, key)
    # A checkpoint whose size was changed no longer carries a valid signature.
    forged.CopyFrom(receipt)
    lines = receipt.checkpoint.split("\n")
    lines[1] = str(int(lines[1]) + 1)
    forged.checkpoint = "\n".join(lines)
    with pytest.raises(Exception):
        verify_receipt(forged, key)
