import Foundation

/// The XDG base-directory rule: `$VARIABLE/<subpath>` when the variable holds an absolute path,
/// else `~/<fallback>/<subpath>`.
enum XDGDirectory {
    static func path(
        _ variable: String, fallback: String, _ subpath: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let base = environment[variable], base.hasPrefix("/") { return base + "/" + subpath }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/" + fallback + "/" + subpath
    }
}

/// Where `serve` keeps its data when `--data` is not given: `$XDG_DATA_HOME/wasmrpc`, else
/// `~/.local/share/wasmrpc`.
enum DataDirectory {
    static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        XDGDirectory.path("XDG_DATA_HOME", fallback: ".local/share", "wasmrpc", environment: environment)
    }
}

/// Where the client pins log keys and remembers checkpoints: `$XDG_CONFIG_HOME/wasmrpc/logs`, else
/// `~/.config/wasmrpc/logs`.
enum ClientConfigDirectory {
    static func logs(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        XDGDirectory.path("XDG_CONFIG_HOME", fallback: ".config", "wasmrpc/logs", environment: environment)
    }
}
