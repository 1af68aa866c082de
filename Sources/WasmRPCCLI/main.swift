import WasmRPCCommands

await WasmRPC.runFromCommandLine()
