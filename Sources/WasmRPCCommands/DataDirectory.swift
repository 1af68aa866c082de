import Foundation

/// Where `serve` keeps its data when `--data` is not given: `$XDG_DATA_HOME/wasmrpc`, else
/// `~/.local/share/wasmrpc`.
enum DataDirectory {
    static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            return xdg + "/wasmrpc"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/share/wasmrpc"
    }
}
