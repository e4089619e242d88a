// swift-tools-version: 6.1
import PackageDescription

// The boundary (ARCHITECTURE.md): dependencies point one way only,
//
//     math ← model ← attribution;  math ← imaging;  model, imaging ← training;
//     attribution, imaging, training ← pipeline ← CLI
//
// - Libraries (LeafLensMath … LeafLensTraining, LeafLensPipeline) never print and never parse arguments;
//   they throw typed errors and report progress through callbacks.
// - LeafLensPipeline holds the application logic: inputs and their size, the attribution methods and
//   their one dispatcher, explanation files, reports, evaluation and scoring. It never imports
//   ArgumentParser.
// - The CLI (`leaflens`) imports only LeafLensPipeline (plus ArgumentParser and Foundation) and does
//   option parsing, validation messages, printing and exit codes — nothing else.

let package = Package(
    name: "LeafLens",
    products: [
        .library(
            name: "LeafLens",
            targets: [
                "LeafLensMath", "LeafLensModel", "LeafLensAttribution", "LeafLensImaging", "LeafLensTraining",
                "LeafLensPipeline",
            ]),
        .executable(name: "leaflens", targets: ["leaflens"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libpng-dev, libjpeg62-turbo-dev).
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        .systemLibrary(
            name: "CJPEG", pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg62-turbo-dev"])]),
        // C: OpenBLAS kernel selection at load time; the AVX-512 convolution/GEMM/max-pool kernels
        // (target attributes, chosen at run time by CPUID); the thread pool; image codecs whose error
        // handling needs setjmp/longjmp (which Swift cannot call).
        .target(name: "CLeafLensSupport", dependencies: ["CBLAS", "CPNG", "CJPEG"]),

        // See the boundary at the top: math ← model ← attribution; math ← imaging; model, imaging ←
        // training; attribution, imaging, training ← pipeline ← CLI.
        .target(name: "LeafLensMath", dependencies: ["CBLAS", "CLeafLensSupport"]),
        .target(name: "LeafLensModel", dependencies: ["LeafLensMath"]),
        .target(name: "LeafLensAttribution", dependencies: ["LeafLensMath", "LeafLensModel"]),
        .target(name: "LeafLensImaging", dependencies: ["LeafLensMath", "CLeafLensSupport"]),
        .target(name: "LeafLensTraining", dependencies: ["LeafLensMath", "LeafLensModel", "LeafLensImaging"]),
        .target(
            name: "LeafLensPipeline",
            dependencies: ["LeafLensMath", "LeafLensModel", "LeafLensAttribution", "LeafLensImaging", "LeafLensTraining"]),
        .executableTarget(
            name: "leaflens",
            dependencies: [
                "LeafLensPipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Resources/default.safetensors")]),

        // Shared test helpers: the approximate-equality rule and fixture locations.
        .target(name: "LeafLensTestSupport", dependencies: ["LeafLensMath"], path: "Tests/LeafLensTestSupport"),
        .testTarget(name: "LeafLensMathTests", dependencies: ["LeafLensMath", "LeafLensTestSupport"]),
        .testTarget(
            name: "LeafLensModelTests", dependencies: ["LeafLensMath", "LeafLensModel", "LeafLensTestSupport"]),
        .testTarget(
            name: "LeafLensAttributionTests",
            dependencies: ["LeafLensMath", "LeafLensModel", "LeafLensAttribution", "LeafLensTestSupport"]),
        .testTarget(
            name: "LeafLensImagingTests", dependencies: ["LeafLensMath", "LeafLensImaging", "LeafLensTestSupport"]),
        .testTarget(
            name: "LeafLensTrainingTests",
            dependencies: ["LeafLensMath", "LeafLensModel", "LeafLensImaging", "LeafLensTraining", "LeafLensTestSupport"]),
        .testTarget(
            name: "LeafLensPipelineTests",
            dependencies: [
                "LeafLensMath", "LeafLensModel", "LeafLensAttribution", "LeafLensImaging", "LeafLensTraining",
                "LeafLensPipeline", "LeafLensTestSupport",
            ]),
        .testTarget(
            name: "LeafLensCLITests",
            dependencies: ["leaflens", "LeafLensMath", "LeafLensImaging", "LeafLensTestSupport"], exclude: ["Help"]),
    ],
    swiftLanguageModes: [.v6]
)
