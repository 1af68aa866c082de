// The target is its header; SwiftPM wants a source file.
