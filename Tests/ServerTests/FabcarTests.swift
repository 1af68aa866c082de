import Client
import ContentStore
import Foundation
import GeneratedTestProtos
import GRPCCore
import ModuleRuntime
import Server
import SwiftProtobuf
import Testing
import TestSupport
import WasmRPCCore
import WasmRPCProto
import SQLiteEngine

/// Hyperledger Fabric's fabcar sample as chaincode, in Swift (Guests/fabcar) and in Rust
/// (Guests/rust/fabcar): the same calls give the same answers, queries record nothing, and the
/// ledger replays to the stored state.
@Suite(.timeLimit(.minutes(10))) struct FabcarTests {
    enum Guest: String, CaseIterable, CustomTestStringConvertible {
        case swift = "Guests/fabcar/fabcar.wasm"
        case rust = "Guests/rust/fabcar/fabcar.wasm"
        var testDescription: String { self == .swift ? "Swift" : "Rust" }
    }

    static let descriptor = try! Google_Protobuf_FileDescriptorSet(serializedBytes: fixture("Guests/fabcar/fabcar.pb"))

    @Test(arguments: Guest.allCases) func theFabcarContractWorksAndReplays(guest: Guest) async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let wasm = try fixture(guest.rawValue)
        let id = try await withRunningServer(directory: directory, configure: StateServiceTests.patientGuests) { client, server in
            let id = try #require(ModuleID(hex: try await client.add(wasm: wasm, descriptorSet: Self.descriptor).metadata.id))
            func call(_ method: String, _ request: some SwiftProtobuf.Message) async throws -> NativeResponse {
                try await client.call("fabcar.FabCar/\(method)", message: try request.serializedBytes(), module: id)
            }
            let initial = try Fabcar_CarList(serializedBytes: try await call("InitLedger", Fabcar_Empty()).message)
            #expect(initial.cars.count == 10 && initial.cars[4].car.make == "Tesla")

            let all = try await call("QueryAllCars", Fabcar_Empty())
            #expect(all.metadata[stringValues: Wire.transactionHeader].first(where: { _ in true }) == nil)
            #expect(try Fabcar_CarList(serializedBytes: all.message).cars.map(\.key) == (0..<10).map { "CAR\($0)" })

            let created = try await call(
                "CreateCar",
                Fabcar_CreateCarRequest.with {
                    $0.key = "CAR10"
                    $0.car = .with { $0.make = "Honda"; $0.model = "Accord"; $0.colour = "black"; $0.owner = "Tom" }
                })
            #expect(created.metadata[stringValues: Wire.transactionHeader].first(where: { _ in true }) != nil)
            let changed = try await call("ChangeCarOwner", Fabcar_ChangeCarOwnerRequest.with { $0.key = "CAR10"; $0.newOwner = "Dave" })
            #expect(try Fabcar_CarRecord(serializedBytes: changed.message).car.owner == "Dave")
            let queried = try Fabcar_CarRecord(serializedBytes: try await call("QueryCar", Fabcar_CarKey.with { $0.key = "CAR10" }).message)
            #expect(queried.car.make == "Honda" && queried.car.owner == "Dave")
            // Fabric's sample reads CAR0 up to CAR999: CAR10 sorts after CAR1.
            let keys = try Fabcar_CarList(serializedBytes: try await call("QueryAllCars", Fabcar_Empty()).message).cars.map(\.key)
            #expect(keys == ["CAR0", "CAR1", "CAR10"] + (2..<10).map { "CAR\($0)" })

            let taken = await #expect(throws: RPCError.self) {
                try await call("CreateCar", Fabcar_CreateCarRequest.with { $0.key = "CAR3" })
            }
            #expect(taken?.message.contains("CAR3 exists already") == true)
            let missing = await #expect(throws: RPCError.self) { try await call("QueryCar", Fabcar_CarKey.with { $0.key = "CAR77" }) }
            #expect(missing?.message.contains("CAR77 does not exist") == true)

            let transactions = try await client.state.listTransactions(.with { $0.moduleID = id.hex })
            #expect(transactions.transactions.map(\.method) == ["/fabcar.FabCar/InitLedger", "/fabcar.FabCar/CreateCar", "/fabcar.FabCar/ChangeCarOwner"])
            return id
        }
        // Offline, on the data directory the server left: the ledger replays to the stored state.
        let store = try await ContentStore.open(directory: directory, readOnly: true)
        let replay = try Replay(module: id, wasm: wasm, descriptorSet: try Self.descriptor.serializedBytes())
        for record in try await store.transactions(of: id, after: 0) { replay.apply(record) }
        replay.compare(withStored: try await store.stateRange(id, start: [], end: [], limit: 1_000))
        #expect(replay.problems == [] && replay.sequence == 3 && replay.state.count == 11)
    }

    /// The Rust complex guest answers like the Swift one, as a native route.
    @Test func theRustComplexGuestMultiplies() async throws {
        try await withServer(configure: StateServiceTests.patientGuests) { client in
            let id = try #require(
                ModuleID(hex: try await client.add(wasm: try fixture("Guests/rust/complex/complex.wasm"), descriptorSet: complexDescriptor).metadata.id))
            let answer = try await client.call("complex.Calculator/mul", message: try complexRequest((1, 2), (3, 4)).value.map { $0 }, module: id)
            let result = try Complex_ComplexResponse(serializedBytes: answer.message).result
            #expect(result.real == -5 && result.imag == 10)
        }
    }
}
