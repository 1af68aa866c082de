import Foundation
import Testing
@testable import WasmRPCCommands

/// docs/CONFIGURATION.md lists every flag of `wasmrpc serve`, with the environment variable and
/// default its help names, and no flag `serve` does not have.
struct ServeConfigurationDocTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func flags(in text: String) -> Set<String> {
        Set(text.matches(of: /--[a-z][a-z0-9-]+/).map { String($0.output) })
    }

    @Test func everyServeFlagIsDocumentedAndNothingElse() throws {
        let help = Serve.helpMessage(columns: 1_000)
        let page = try String(contentsOf: Self.repository.appendingPathComponent("docs/CONFIGURATION.md"), encoding: .utf8)
        // The page's tables describe serve; its last section names the client commands' options.
        let serveSection = String(page[..<page.range(of: "## Other commands")!.lowerBound])
        let rows = serveSection.split(separator: "\n").filter { $0.hasPrefix("| `--") }
        let documented = Set(rows.compactMap { row in Self.flags(in: String(row.split(separator: "|")[0])).first })
        let offered = Self.flags(in: help).subtracting(["--help", "--version"])
        #expect(offered.subtracting(documented).isEmpty, "not in docs/CONFIGURATION.md: \(offered.subtracting(documented).sorted())")
        #expect(documented.subtracting(offered).isEmpty, "not flags of serve: \(documented.subtracting(offered).sorted())")
        // Each limit's row names the variable and default its help gives: `[WASMRPC_X, default]`.
        for match in help.matches(of: /(--[a-z0-9-]+) <[^>]+>\s+[^\[]*\[(WASMRPC_[A-Z_]+), ([^\]]+)\]/) {
            let (flag, variable, value) = (String(match.output.1), String(match.output.2), String(match.output.3))
            guard let row = rows.first(where: { $0.hasPrefix("| `\(flag)`") }) else { continue }
            #expect(row.contains("`\(variable)`"), "\(flag): \(variable)")
            let firstValue = value.split(separator: ",")[0].trimmingCharacters(in: .whitespaces)
            #expect(row.contains(firstValue), "\(flag): default \(firstValue)")
        }
    }
}
