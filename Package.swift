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
                "LeafLensPipeline", "LeafLensCheckpoint",
            ]),
        .executable(name: "leaflens", targets: ["leaflens"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
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
        // Text in panels and colour bars (Debian: libfreetype-dev; the font comes from fonts-dejavu-core).
        .systemLibrary(
            name: "CFreeType", pkgConfig: "freetype2",
            providers: [.apt(["libfreetype-dev"])]),
        // C, split by concern. Kernels: the AVX-512 convolution/GEMM/max-pool kernels (target attributes,
        // chosen at run time by CPUID), CPU feature detection, the thread pool, and the load-time process
        // settings (malloc tuning, OpenBLAS kernel re-selection; see `ProcessSettings`). Codecs: libpng and
        // libjpeg shims whose error handling needs setjmp/longjmp (which Swift cannot call), so only
        // LeafLensImaging links the image libraries.
        .target(name: "CLeafLensKernels"),
        .target(name: "CLeafLensCodecs", dependencies: ["CPNG", "CJPEG"]),

        // See the boundary at the top: math ← model ← attribution; math ← imaging; model, imaging ←
        // training; attribution, imaging, training, checkpoint ← pipeline ← CLI.
        .target(name: "LeafLensMath", dependencies: ["CBLAS", "CLeafLensKernels"]),
        .target(name: "LeafLensModel", dependencies: ["LeafLensMath"]),
        .target(name: "LeafLensAttribution", dependencies: ["LeafLensMath", "LeafLensModel"]),
        .target(name: "LeafLensImaging", dependencies: ["LeafLensMath", "CLeafLensCodecs", "CFreeType"]),
        .target(name: "LeafLensTraining", dependencies: ["LeafLensMath", "LeafLensModel", "LeafLensImaging"]),
        // PyTorch checkpoints (.pth zip + restricted unpickler) → torchvision-named state_dicts (Debian: zlib1g-dev).
        .systemLibrary(name: "CLeafLensZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "LeafLensCheckpoint",
            dependencies: [
                "LeafLensMath", "LeafLensModel", "CLeafLensZlib",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]),
        .target(
            name: "LeafLensPipeline",
            dependencies: [
                "LeafLensMath", "LeafLensModel", "LeafLensAttribution", "LeafLensImaging", "LeafLensTraining",
                "LeafLensCheckpoint",
            ]),
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
            dependencies: [
                "LeafLensMath", "LeafLensModel", "LeafLensImaging", "LeafLensTraining", "LeafLensTestSupport",
            ]),
        .testTarget(
            name: "LeafLensPipelineTests",
            dependencies: [
                "LeafLensMath", "LeafLensModel", "LeafLensAttribution", "LeafLensImaging", "LeafLensTraining",
                "LeafLensPipeline", "LeafLensTestSupport",
            ]),
        .testTarget(
            name: "LeafLensCheckpointTests",
            dependencies: ["LeafLensMath", "LeafLensModel", "LeafLensCheckpoint", "LeafLensTestSupport"]),
        .testTarget(
            name: "LeafLensCLITests",
            dependencies: ["leaflens", "LeafLensMath", "LeafLensImaging", "LeafLensTestSupport"], exclude: ["Help"]),
    ],
    swiftLanguageModes: [.v6]
)
