#!/usr/bin/env python3
"""Checks that every module a target imports is declared in its dependencies in Package.swift
(a target that only reaches a module through another target's dependencies builds today, and
breaks when that other target changes), and that the target arrows listed in docs/ARCHITECTURE.md
are exactly Package.swift's, each from a higher layer to a lower one. Prints each problem; exits 1
if there is one."""
import os
import re
import sys

SYSTEM = {"Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Musl", "Darwin", "Synchronization",
          "FoundationNetworking", "Testing", "XCTest", "_StringProcessing", "Builtin", "CMemoryTuning"}
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
manifest = open(os.path.join(root, "Package.swift")).read()
targets_section = manifest[manifest.index("targets: ["):]

problems = []
arrows = {}  # non-test target -> its targets (not products) in Package.swift
for match in re.finditer(r'\.(target|testTarget|executableTarget)\(\s*name:\s*"([^"]+)"', targets_section):
    kind, name = match.group(1), match.group(2)
    # The target's text: up to the next target declaration.
    rest = targets_section[match.end():]
    following = re.search(r'\n\s*\.(target|testTarget|executableTarget)\(', rest)
    body = rest[: following.start() if following else len(rest)]
    dependencies = set()
    deps = re.search(r'dependencies:\s*\[(.*?)\]\s*(,|\))', body, re.S)
    if deps:
        text = deps.group(1)
        dependencies |= set(re.findall(r'\.product\(name:\s*"([^"]+)"', text))
        dependencies |= set(re.findall(r'(?<![:\w])"([A-Za-z0-9_]+)"', re.sub(r'\.product\([^)]*\)', '', text)))
    if kind != "testTarget" and "Tests/" not in body:
        arrows[name] = set(re.findall(r'(?<![:\w])"([A-Za-z0-9_]+)"', re.sub(r'\.product\([^)]*\)', '', deps.group(1)))) if deps else set()
    path = re.search(r'path:\s*"([^"]+)"', body)
    directory = path.group(1) if path else os.path.join("Tests" if kind == "testTarget" else "Sources", name)
    for folder, _, files in os.walk(os.path.join(root, directory)):
        for file in files:
            if not file.endswith(".swift"):
                continue
            source = os.path.join(folder, file)
            for line in open(source):
                imported = re.match(r'\s*(?:@\w+(?:\([^)]*\))?\s+)*import\s+(?:(?:struct|class|enum|func|protocol)\s+)?([A-Za-z0-9_]+)', line)
                if imported:
                    module = imported.group(1)
                    if module not in SYSTEM and module not in dependencies and module != name:
                        problems.append(f"{os.path.relpath(source, root)}: imports {module}, which target {name} does not declare")
# The arrows in docs/ARCHITECTURE.md.
architecture = open(os.path.join(root, "docs", "ARCHITECTURE.md")).read()
block = re.search(r'<!-- arrows: checked by scripts/check-imports.py -->\s*```\n(.*?)```', architecture, re.S)
if not block:
    problems.append("docs/ARCHITECTURE.md: no arrows block")
else:
    documented, layers = {}, {}
    for line in block.group(1).strip().split("\n"):
        parsed = re.match(r'L(\d+) (\w+)(?: → (.*))?$', line.strip())
        if not parsed:
            problems.append(f"docs/ARCHITECTURE.md: cannot read the arrow line {line!r}")
            continue
        layers[parsed.group(2)] = int(parsed.group(1))
        documented[parsed.group(2)] = set(x.strip() for x in parsed.group(3).split(",")) if parsed.group(3) else set()
    for target in sorted(set(arrows) | set(documented)):
        if target == "GeneratedTestProtos":
            continue  # test support code
        if target not in documented:
            problems.append(f"docs/ARCHITECTURE.md: target {target} is not in the arrows")
        elif target not in arrows:
            problems.append(f"docs/ARCHITECTURE.md: {target} is not a target in Package.swift")
        elif documented[target] != arrows[target]:
            problems.append(f"docs/ARCHITECTURE.md: {target} → {sorted(documented[target])}, but Package.swift says {sorted(arrows[target])}")
        for dependency in documented.get(target, ()):
            if dependency in layers and layers[dependency] >= layers[target]:
                problems.append(f"docs/ARCHITECTURE.md: {target} (L{layers[target]}) imports {dependency} (L{layers[dependency]}), which is not below it")
for problem in sorted(set(problems)):
    print(problem)
sys.exit(1 if problems else 0)
