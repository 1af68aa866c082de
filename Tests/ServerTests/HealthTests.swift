import CallCore
import Client
import Foundation
import GRPCCore
import Server
import Testing
import WasmRPCProto
import TestSupport

@Suite(.timeLimit(.minutes(10))) struct HealthTests {
    func check(_ client: WasmRPCClient, _ service: String) async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        try await client.health.check(.with { $0.service = service }).status
    }

    @Test func theServerAndItsServicesAreServingAndUnknownOnesAreNotFound() async throws {
        try await withServer { client in
            for service in [
                "", "wasmrpc.v1.Registry", "wasmrpc.v1.Invoker", "wasmrpc.v1.Log", "wasmrpc.v1.State", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            ] {
                let status = try await check(client, service)
                #expect(status == .serving, "\(service)")
            }
            for service in ["wasmrpc.v1", "complex.Calculator", "wasmrpc.v1.Registry/Add", String(repeating: "x", count: 10_000)] {
                #expect(await statusCode { try await check(client, service) } == .notFound, "\(service.prefix(20))")
            }
        }
    }

    /// An uploaded service is known from the moment Add answers: Check says SERVING, and a Watch
    /// that began before sees SERVICE_UNKNOWN, then SERVING.
    @Test func uploadedServicesServeOnceAdded() async throws {
        try await withServer { client in
            let seen = Recorder<Grpc_Health_V1_HealthCheckResponse.ServingStatus>()
            let watch = Task {
                try await client.health.watch(.with { $0.service = "complex.Calculator" }) { response in
                    for try await message in response.messages {
                        seen.append(message.status)
                        if message.status == .serving { return }
                    }
                }
            }
            defer { watch.cancel() }
            try await eventually { !seen.values.isEmpty }
            #expect(seen.values == [.serviceUnknown])
            _ = try await client.add(wasm: complexWasm, descriptorSet: complexDescriptor)
            let status = try await check(client, "complex.Calculator")
            #expect(status == .serving)
            try await watch.value
            #expect(seen.values == [.serviceUnknown, .serving])
        }
    }

    @Test func healthChecksNeedNoTokenEvenWhenReadsAreProtected() async throws {
        try await withServer(configure: { $0.access = AccessPolicy(token: "s3cret", protectReads: true) }) { client in
            let status = try await check(client, "")
            #expect(status == .serving)
            #expect(await statusCode { try await client.list() } == .unauthenticated)
        }
    }

    /// Watches ("" and an unknown service) see their first status, then NOT_SERVING when shutdown
    /// begins, and end, so that the graceful shutdown completes with them open.
    @Test func watchesSeeTheShutdownAndEnd() async throws {
        let seen = Recorder<(service: String, status: Grpc_Health_V1_HealthCheckResponse.ServingStatus)>()
        func statuses(_ service: String) -> [Grpc_Health_V1_HealthCheckResponse.ServingStatus] {
            seen.values.filter { $0.service == service }.map(\.status)
        }
        // Returns once run() has: nothing held the shutdown up.
        try await withRunningServer { client, server in
            try await withThrowingTaskGroup(of: Void.self) { watches in
                for service in ["", "complex.Calculator"] {
                    watches.addTask {
                        try await client.health.watch(.with { $0.service = service }) { response in
                            for try await message in response.messages { seen.append((service, message.status)) }
                        }
                    }
                }
                // Both watches answered at once; then the server begins to stop.
                try await eventually { seen.values.count >= 2 }
                #expect(statuses("") == [.serving])
                #expect(statuses("complex.Calculator") == [.serviceUnknown])
                server.shutdown()
                try await watches.waitForAll()
            }
        }
        #expect(statuses("") == [.serving, .notServing])
        #expect(statuses("complex.Calculator") == [.serviceUnknown])
    }
}
