"""The log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles) over `serve --http-listen`, checked by a
client written here from the spec alone, knowing only the verifier key: it fetches the checkpoint
and every tile, rebuilds every leaf hash and the root, checks the signature, and builds an
inclusion proof from tiles only — for a log that is not a multiple of 256 leaves and for one that
is; partial tiles give way to full ones as the log grows. tlog-scales' own tile reader, a second
client, builds the same proofs."""
import base64
import concurrent.futures
import hashlib
import urllib.error
import urllib.request

import grpc
import pytest
from tlog_scales import signing, tlog
from tlog_scales.reader import TilesReader

from conftest import serve
from test_log import echo_copy, echo_descriptor


# ---- the client, from the spec --------------------------------------------------------------

def index_path(n):
    """N in groups of three digits, all but the last with an x before them."""
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.insert(0, f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(groups)


def tile_url(base, level, n, width=256):
    """tile/<L>/<N>[.p/<W>], or tile/entries/<N>[.p/<W>] for level -1."""
    name = "entries" if level < 0 else str(level)
    return f"{base}/tile/{name}/{index_path(n)}" + (f".p/{width}" if width < 256 else "")


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), response.headers


def status_of(url):
    try:
        fetch(url)
        return 200
    except urllib.error.HTTPError as error:
        return error.code


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    """RFC 6962 Merkle tree hash over leaf hashes."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def read_tile(base, level, n, count):
    """The tile with `count` (1…256) items, partial when count < 256, and its headers."""
    data, headers = fetch(tile_url(base, level, n, count))
    if level < 0:
        entries = []
        while data:
            length = int.from_bytes(data[:2], "big")
            assert len(data) >= 2 + length, "truncated entry bundle"
            entries.append(data[2:2 + length])
            data = data[2 + length:]
        assert len(entries) == count
        return entries, headers
    assert len(data) == 32 * count
    return [data[i:i + 32] for i in range(0, len(data), 32)], headers


def audit(base, vkey):
    """Everything the tiles say, checked: returns (size, root, leaf hashes, entries)."""
    note = fetch(f"{base}/checkpoint")[0].decode()
    checkpoint = tlog.Checkpoint.from_text(note)
    checkpoint.verify(vkey)
    size = checkpoint.size
    entries = []
    for n in range((size + 255) // 256):
        count = min(256, size - 256 * n)
        tile, headers = read_tile(base, -1, n, count)
        entries += tile
        # Full tiles never change; the partial one does as the log grows.
        assert ("immutable" in headers.get("Cache-Control", "")) == (count == 256)
    hashes = [leaf_hash(entry) for entry in entries]
    assert mth(hashes) == checkpoint.root_hash
    # Every hash tile, at every level, matches the subtrees the leaves make.
    level, nodes = 0, hashes
    while len(nodes) >= 1:
        for n in range((len(nodes) + 255) // 256):
            count = min(256, len(nodes) - 256 * n)
            tile, _ = read_tile(base, level, n, count)
            assert tile == nodes[256 * n:256 * n + count], f"hash tile {level}/{n} differs"
        if len(nodes) < 256:
            break
        nodes = [mth(nodes[i:i + 256]) for i in range(0, len(nodes) - len(nodes) % 256, 256)]
        level += 1
    return size, checkpoint.root_hash, hashes, entries


def inclusion_proof_from_tiles(base, index, size):
    """RFC 6962 PATH(m, D[0:n]), every subtree hash read from tiles (complete 256^k-aligned
    subtrees straight from a tile, others hashed from tiles below)."""
    cache = {}

    def tile(level, n, count):
        key = (level, n, count)
        if key not in cache:
            cache[key] = read_tile(base, level, n, count)[0]
        return cache[key]

    def subtree(start, end):
        width = end - start
        level, stored = 0, 1
        while stored < width:
            stored *= 256
            level += 1
        if stored == width and start % width == 0:
            # A complete subtree of 256^level leaves: a hash in a level-`level` tile.
            position, available = start // width, size // width
            n = position // 256
            return tile(level, n, min(256, available - 256 * n))[position % 256]
        k = 1 << ((width - 1).bit_length() - 1)
        return node_hash(subtree(start, start + k), subtree(start + k, end))

    def path(m, start, end):
        if end - start == 1:
            return []
        k = 1 << ((end - start - 1).bit_length() - 1)
        if m < k:
            return path(m, start, start + k) + [subtree(start + k, end)]
        return path(m - k, start + k, end) + [subtree(start, start + k)]

    return path(index, 0, size)


class Backend:
    """tlog-scales' reader over HTTP (its own HTTP backend needs the requests package)."""

    def __init__(self, base):
        self.base = base

    def get(self, *path):
        try:
            return fetch(f"{self.base}/{'/'.join(path)}")[0]
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise


# ---- the test -------------------------------------------------------------------------------

def add(registry, wasmrpc_pb2, numbers):
    def one(n):
        registry.Add(wasmrpc_pb2.AddRequest(wasm=echo_copy(70_000 + n), descriptor=echo_descriptor()), timeout=60)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, numbers))


@pytest.mark.parametrize("sizes", [(300, 512)])
def test_the_log_as_tiles_audits_from_the_spec_alone(stubs, sizes):
    wasmrpc_pb2, wasmrpc_pb2_grpc, _ = stubs
    with serve("--http-listen", "127.0.0.1:0", "--timeout", "60s") as (address, http):
        base = f"http://{http}/log"
        with grpc.insecure_channel(address) as channel:
            registry, log = wasmrpc_pb2_grpc.RegistryStub(channel), wasmrpc_pb2_grpc.LogStub(channel)
            vkey = signing.Vkey.from_string(log.GetCheckpoint(wasmrpc_pb2.GetCheckpointRequest(), timeout=30).verifier_key)

            # A log that is not a multiple of 256 leaves: a partial tile at every level.
            add(registry, wasmrpc_pb2, range(sizes[0]))
            size, root, hashes, entries = audit(base, vkey)
            assert size == sizes[0] and size % 256
            partial = tile_url(base, -1, size // 256, size % 256)
            assert status_of(partial) == 200
            assert status_of(tile_url(base, -1, size // 256)) == 404, "a full tile the log does not have yet"
            assert status_of(tile_url(base, 0, 0, 255) + "x") == 404 and status_of(f"{base}/tile/0/x000/000") == 404
            for index in (0, 1, 255, 256, size - 1):
                proof = inclusion_proof_from_tiles(base, index, size)
                tlog.InclusionProof(index, size, proof).check(hashes[index], root)
                # The server's own proof (over gRPC) is the same path.
                served = log.GetInclusionProof(wasmrpc_pb2.GetInclusionProofRequest(leaf_index=index, tree_size=size), timeout=30)
                assert list(served.hashes) == proof
            reader = TilesReader(Backend(base))
            assert reader.get_checkpoint().root_hash == root
            assert reader.calculate_root_hash() == root
            reader.get_inclusion_proof(size - 1, size).check(hashes[size - 1], root)

            # Grown to a multiple of 256: the partial tiles give way to full ones, which hold the
            # partial ones' hashes and entries first; the old partial tiles still answer.
            add(registry, wasmrpc_pb2, range(sizes[0], sizes[1]))
            size2, root2, hashes2, entries2 = audit(base, vkey)
            assert size2 == sizes[1] and size2 % 256 == 0
            assert hashes2[:size] == hashes and entries2[:size] == entries
            assert status_of(tile_url(base, -1, size // 256)) == 200
            old, _ = read_tile(base, -1, size // 256, size % 256)
            assert old == entries[256 * (size // 256):]
            for index in (0, size - 1, size2 - 1):
                tlog.InclusionProof(index, size2, inclusion_proof_from_tiles(base, index, size2)).check(hashes2[index], root2)
            old_checkpoint = tlog.Checkpoint.from_text(
                log.GetCheckpoint(wasmrpc_pb2.GetCheckpointRequest(), timeout=30).checkpoint)
            assert old_checkpoint.size == size2
            reader = TilesReader(Backend(base))
            reader.get_checkpoint()
            reader.get_consistency_proof(size, size2).check(root, root2)
