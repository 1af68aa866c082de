"""The transparency log as third-party verifiers see it: tlog-scales (C2SP checkpoints, RFC 6962
inclusion and consistency proofs) and rekor-verifier's merkle_proof check what a running wasmrpc
serve hands out after a few dozen Adds, and reject tampered versions."""
import hashlib

import grpc
import pytest
from google.protobuf import descriptor_pb2
from rekor_verifier import merkle_proof as rekor
from tlog_scales import signing, tiles, tlog

from conftest import REPO

ECHO_WASM = (REPO / "Guests/echo/echo.wasm").read_bytes()
COUNT = 40


def leb128(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def echo_copy(n):
    """The echo guest with a custom section "test.copy" holding n: distinct bytes, same behaviour."""
    name, payload = b"test.copy", str(n).encode()
    content = leb128(len(name)) + name + payload
    return ECHO_WASM + b"\x00" + leb128(len(content)) + content


def echo_descriptor():
    file = descriptor_pb2.FileDescriptorProto(name="echo.proto", package="echo", syntax="proto3")
    text = file.message_type.add(name="Text")
    text.field.add(name="text", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                   label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    file.service.add(name="Echo").method.add(name="echo", input_type=".echo.Text", output_type=".echo.Text")
    return descriptor_pb2.FileDescriptorSet(file=[file])


@pytest.fixture(scope="module")
def log(stubs, channel):
    wasmrpc_pb2, wasmrpc_pb2_grpc, _ = stubs
    registry = wasmrpc_pb2_grpc.RegistryStub(channel)
    log = wasmrpc_pb2_grpc.LogStub(channel)
    before = tlog.Checkpoint.from_text(log.GetCheckpoint(wasmrpc_pb2.GetCheckpointRequest()).checkpoint)
    receipts = [registry.Add(wasmrpc_pb2.AddRequest(wasm=echo_copy(n), descriptor=echo_descriptor()), timeout=30).receipt
                for n in range(COUNT)]
    latest = log.GetCheckpoint(wasmrpc_pb2.GetCheckpointRequest())
    return wasmrpc_pb2, registry, log, receipts, latest, before


def test_the_checkpoint_verifies_with_the_announced_key(log):
    _, _, _, _, latest, before = log
    checkpoint = tlog.Checkpoint.from_text(latest.checkpoint)
    checkpoint.verify(signing.Vkey.from_string(latest.verifier_key))
    assert checkpoint.size == before.size + COUNT


def test_a_tampered_checkpoint_is_rejected(log):
    _, _, _, _, latest, _ = log
    lines = latest.checkpoint.split("\n")
    lines[1] = str(int(lines[1]) + 1)
    with pytest.raises(Exception):
        tlog.Checkpoint.from_text("\n".join(lines)).verify(signing.Vkey.from_string(latest.verifier_key))


def test_every_receipt_proves_inclusion(log):
    _, _, _, receipts, latest, _ = log
    vkey = signing.Vkey.from_string(latest.verifier_key)
    for receipt in receipts:
        checkpoint = tlog.Checkpoint.from_text(receipt.checkpoint)
        checkpoint.verify(vkey)
        assert checkpoint.size == receipt.tree_size
        leaf_hash = tiles.leaf_hash(receipt.leaf)
        proof = list(receipt.inclusion_proof)
        tlog.InclusionProof(receipt.leaf_index, receipt.tree_size, proof).check(leaf_hash, checkpoint.root_hash)
        rekor.verify_inclusion(rekor.Hasher(), receipt.leaf_index, receipt.tree_size, leaf_hash.hex(),
                               [p.hex() for p in proof], checkpoint.root_hash.hex())


def test_the_leaf_names_the_module(log):
    wasmrpc_pb2, registry, _, receipts, _, _ = log
    module_id = hashlib.sha256(echo_copy(7)).hexdigest()
    got = registry.Get(wasmrpc_pb2.GetRequest(id=module_id))
    lines = got.receipt.leaf.decode().splitlines()
    assert lines[0] == "wasmrpc module v1"
    assert lines[1] == f"id {module_id}"
    assert lines[2] == f"size {len(got.wasm)}"
    assert lines[3] == "descriptor " + hashlib.sha256(got.metadata.descriptor.SerializeToString()).hexdigest()
    assert got.receipt.leaf == receipts[7].leaf


def test_tampered_inclusion_proofs_are_rejected(log):
    _, _, _, receipts, _, _ = log
    receipt = receipts[COUNT // 2]
    root = tlog.Checkpoint.from_text(receipt.checkpoint).root_hash
    leaf_hash = tiles.leaf_hash(receipt.leaf)
    proof = list(receipt.inclusion_proof)
    assert proof, "a leaf in a tree of more than one leaf has a non-empty proof"
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(tlog.InclusionProofInvalid):
            tlog.InclusionProof(receipt.leaf_index, receipt.tree_size, bad).check(leaf_hash, root)
        with pytest.raises((rekor.RootMismatchError, ValueError)):
            rekor.verify_inclusion(rekor.Hasher(), receipt.leaf_index, receipt.tree_size, leaf_hash.hex(),
                                   [p.hex() for p in bad], root.hex())
    with pytest.raises(tlog.InclusionProofInvalid):
        tlog.InclusionProof(receipt.leaf_index, receipt.tree_size, proof).check(tiles.leaf_hash(receipt.leaf + b"x"), root)


def test_consistency_proofs_between_every_receipt_and_the_latest(log):
    wasmrpc_pb2, _, log_stub, receipts, latest, _ = log
    new = tlog.Checkpoint.from_text(latest.checkpoint)
    for receipt in receipts[:-1]:
        old = tlog.Checkpoint.from_text(receipt.checkpoint)
        response = log_stub.GetConsistencyProof(wasmrpc_pb2.GetConsistencyProofRequest(first=old.size, second=new.size))
        proof = list(response.hashes)
        tlog.ConsistencyProof(old.size, new.size, proof).check(old.root_hash, new.root_hash)
        rekor.verify_consistency(rekor.Hasher(), old.size, new.size, [p.hex() for p in proof],
                                 old.root_hash.hex(), new.root_hash.hex())
        if proof:
            bad = [bytes([proof[0][0] ^ 0x10]) + proof[0][1:]] + proof[1:]
            with pytest.raises(tlog.ConsistencyProofInvalid):
                tlog.ConsistencyProof(old.size, new.size, bad).check(old.root_hash, new.root_hash)


def test_entries_and_proof_requests_are_bounded(log):
    wasmrpc_pb2, _, log_stub, receipts, latest, _ = log
    entries = log_stub.GetEntries(wasmrpc_pb2.GetEntriesRequest(start=receipts[0].leaf_index, count=5000))
    size = tlog.Checkpoint.from_text(latest.checkpoint).size
    assert len(entries.leaves) == min(1000, size - receipts[0].leaf_index)
    assert entries.leaves[0] == receipts[0].leaf
    with pytest.raises(grpc.RpcError) as failure:
        log_stub.GetInclusionProof(wasmrpc_pb2.GetInclusionProofRequest(leaf_index=size))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
