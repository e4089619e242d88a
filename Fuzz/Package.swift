// swift-tools-version: 6.1
// libFuzzer targets for LeafLens's parsers of untrusted bytes, kept out of the main package so that its
// build stays lean. Build and run them with `scripts/fuzz` (which passes -sanitize=fuzzer,address).
//
// Every directory Sources/Fuzz* is one fuzz target: an executable whose @main hands its test function to
// libFuzzer (`LLVMFuzzerRunDriver`, declared by CFuzzerDriver); its seed corpus is Corpus/<same name>/. Adding a target is adding one
// file, Sources/FuzzSomething/FuzzSomething.swift, plus optional seeds.
import Foundation
import PackageDescription

let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
// The main package is the parent directory; SwiftPM names a path dependency by its folder name.
let leafLens = here.deletingLastPathComponent()
let leafLensIdentity = leafLens.lastPathComponent.lowercased()
let targetNames =
    ((try? FileManager.default.contentsOfDirectory(atPath: here.appendingPathComponent("Sources").path)) ?? [])
    .filter { $0.hasPrefix("Fuzz") }.sorted()

let package = Package(
    name: "LeafLensFuzz",
    dependencies: [.package(path: "..")],
    targets: [.target(name: "CFuzzerDriver")]
        + targetNames.map { name in
            .executableTarget(
                name: name, dependencies: ["CFuzzerDriver", .product(name: "LeafLens", package: leafLensIdentity)])
        },
    swiftLanguageModes: [.v6]
)
