import CallCore
import ContentStore
import Foundation
import GRPCCore
import ModuleRuntime
import Synchronization
import WasmRPCProto
import WasmRPCCore
import WasmRPCGRPC

/// gRPC server reflection (`grpc.reflection.v1` and the older `v1alpha`, which many clients still
/// speak): lists the built-in services and those of uploaded modules, and answers file, symbol and
/// extension queries with the built-in protos (`BuiltinDescriptorSet`) and the stored descriptors.
///
/// Where several sets define a file name or symbol, the built-in protos come first, then the
/// modules from the most recently added one back, as the native routes choose. Each answer is a
/// file and its dependencies from one set, so a client never mixes two modules' versions of a
/// file.
///
/// What is read for a query is bounded: the names every module's set defines are indexed once
/// (`ReflectionNames`: a module's descriptor is read when the first query after its Add needs
/// the index), so a query reads only the sets that define what it asks for — none for a name
/// nobody defines — and the parsed sets are kept in a cache bounded by their bytes (LRU).
public final class ReflectionIndex: Sendable {
    let builtIn: DescriptorFiles
    let builtInServices: [String]
    let directory: ServiceDirectory
    let runtime: ModuleRuntime
    /// Parsed module sets, weighed by their serialized size.
    let cache: ModuleCache<DescriptorFiles>
    private let names = Mutex(ReflectionNames())
    /// The one indexing pass running, if any (concurrent queries wait for it).
    private let indexing = Mutex<Task<Void, Never>?>(nil)
    private let reads = Atomic<Int>(0)

    /// Module descriptors read from the store so far (for tests).
    var descriptorReads: Int { reads.load(ordering: .relaxed) }

    /// The default bound of the cache of parsed module descriptors, in bytes of descriptor.
    public static let defaultCacheBytes = 32 << 20

    init(builtInServices: [String], directory: ServiceDirectory, runtime: ModuleRuntime, cacheBytes: Int = defaultCacheBytes) throws {
        guard let set = Data(base64Encoded: BuiltinDescriptorSet.base64, options: .ignoreUnknownCharacters) else {
            throw RPCError(code: .internalError, message: "the built-in descriptor set is not base64")
        }
        builtIn = try DescriptorFiles(serialized: Array(set))
        self.builtInServices = builtInServices
        self.directory = directory
        self.runtime = runtime
        cache = ModuleCache(capacity: cacheBytes, cost: \.byteCount)
    }

    /// The answer to one request (errors are answers too, as the protocol wants).
    func answer(_ request: Grpc_Reflection_V1_ServerReflectionRequest) async -> Grpc_Reflection_V1_ServerReflectionResponse {
        var response = Grpc_Reflection_V1_ServerReflectionResponse.with {
            $0.validHost = request.host
            $0.originalRequest = request
        }
        switch request.messageRequest {
        case .listServices:
            let names = builtInServices + directory.services.filter { !builtInServices.contains($0) }
            response.listServicesResponse = .with { $0.service = names.map { name in .with { $0.name = name } } }
        case .fileByFilename(let name):
            response.messageResponse = await files(notFound: "no file named \(name)", definedBy: { $0.files[name] }) {
                $0.file(named: name)
            }
        case .fileContainingSymbol(let symbol):
            let name = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
            response.messageResponse = await files(notFound: "no file defines the symbol \(symbol)", definedBy: { $0.symbols[name] }) {
                $0.file(containingSymbol: symbol)
            }
        case .fileContainingExtension(let wanted):
            let key = ReflectionNames.Extension(type: wanted.containingType, number: wanted.extensionNumber)
            response.messageResponse = await files(
                notFound: "no file defines extension \(wanted.extensionNumber) of \(wanted.containingType)", definedBy: { $0.extensions[key] }
            ) {
                $0.file(containingExtension: wanted.extensionNumber, of: wanted.containingType)
            }
        case .allExtensionNumbersOfType(let type):
            // The extensions that the set defining the type knows (extensions from other modules'
            // sets would describe other versions of it).
            let numbers = await firstAnswer(definedBy: { $0.messages[type] }) {
                $0.definesMessage(type) ? $0.extensionNumbers(of: type).sorted() : nil
            }
            guard let numbers else {
                response.messageResponse = Self.error(.notFound, "no message type \(type)")
                break
            }
            response.allExtensionNumbersResponse = .with {
                $0.baseTypeName = type
                $0.extensionNumber = numbers
            }
        case nil:
            response.messageResponse = Self.error(.invalidArgument, "the request asks nothing (no message_request field is set)")
        }
        return response
    }

    /// The first set's answer to `query`, as a file descriptor response.
    private func files(
        notFound: String, definedBy: (ReflectionNames) -> Set<ModuleID>?, _ query: (DescriptorFiles) -> [Data]?
    ) async -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
        guard let files = await firstAnswer(definedBy: definedBy, query) else { return Self.error(.notFound, notFound) }
        return .fileDescriptorResponse(.with { $0.fileDescriptorProto = files })
    }

    /// The answer of the first set that has one, in search order (built-in, then modules newest
    /// first); of the modules, only those whose sets define the name (`definedBy`) are read.
    private func firstAnswer<T>(
        definedBy: (ReflectionNames) -> Set<ModuleID>?, _ query: (DescriptorFiles) -> T?
    ) async -> T? {
        if let answer = query(builtIn) { return answer }
        await indexNewModules()
        guard let defining = names.withLock({ definedBy($0) }), !defining.isEmpty else { return nil }
        for id in directory.modulesNewestFirst where defining.contains(id) {
            if let set = await moduleFiles(id), let answer = query(set) { return answer }
        }
        return nil
    }

    /// Indexes the names of every module the directory lists and the index does not have yet.
    /// One pass runs at a time; a query that finds one running waits for it, then looks again.
    private func indexNewModules() async {
        while true {
            let pending = directory.modulesNewestFirst.filter { id in names.withLock { !$0.indexed.contains(id) } }
            if pending.isEmpty { return }
            let pass = indexing.withLock { running -> Task<Void, Never> in
                if let running { return running }
                let task = Task { [self] in
                    for id in pending {
                        let files = await readFiles(id)
                        names.withLock { $0.add(files?.names, of: id) }
                    }
                    indexing.withLock { $0 = nil }
                }
                running = task
                return task
            }
            await pass.value
        }
    }

    /// Module `id`'s descriptor, parsed (cached); nil if it cannot be read.
    private func moduleFiles(_ id: ModuleID) async -> DescriptorFiles? {
        if let cached = cache.value(id) { return cached }
        return await readFiles(id)
    }

    /// Reads and parses module `id`'s descriptor and caches it.
    private func readFiles(_ id: ModuleID) async -> DescriptorFiles? {
        reads.add(1, ordering: .relaxed)
        guard let descriptor = try? await runtime.withStore({ try await $0.record(id)?.descriptor }),
            let files = try? DescriptorFiles(serialized: descriptor)
        else { return nil }
        return cache.insert(files, for: id)
    }

    private static func error(_ code: RPCError.Code, _ message: String) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
        .errorResponse(.with {
            $0.errorCode = Int32(Status.Code(code).rawValue)
            $0.errorMessage = message
        })
    }
}

/// `grpc.reflection.v1.ServerReflection`.
struct ReflectionService: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
    let index: ReflectionIndex

    func serverReflectionInfo(
        request: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest, any Error>,
        response: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>, context: ServerContext
    ) async throws {
        for try await message in request {
            try await response.write(await index.answer(message))
        }
    }
}

/// `grpc.reflection.v1alpha.ServerReflection`: the same messages as v1 field for field (only the
/// package differs), so requests and answers cross over as bytes.
struct ReflectionServiceV1Alpha: Grpc_Reflection_V1alpha_ServerReflection.SimpleServiceProtocol {
    let index: ReflectionIndex

    func serverReflectionInfo(
        request: RPCAsyncSequence<Grpc_Reflection_V1alpha_ServerReflectionRequest, any Error>,
        response: RPCWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>, context: ServerContext
    ) async throws {
        for try await message in request {
            let v1 = try Grpc_Reflection_V1_ServerReflectionRequest(serializedBytes: try message.serializedBytes() as [UInt8])
            let answer = try await index.answer(v1).serializedBytes() as [UInt8]
            try await response.write(try Grpc_Reflection_V1alpha_ServerReflectionResponse(serializedBytes: answer))
        }
    }
}
