// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "LeafLens",
    products: [
        .library(
            name: "LeafLens",
            targets: ["LeafLensMath", "LeafLensModel", "LeafLensAttribution", "LeafLensImaging", "LeafLensTraining"]),
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
        // C, split by concern. Kernels: the AVX-512 convolution/GEMM/max-pool kernels (target attributes,
        // chosen at run time by CPUID), CPU feature detection, the thread pool, and the load-time process
        // settings (malloc tuning, OpenBLAS kernel re-selection; see `ProcessSettings`). Codecs: libpng and
        // libjpeg shims whose error handling needs setjmp/longjmp (which Swift cannot call), so only
        // LeafLensImaging links the image libraries.
        .target(name: "CLeafLensKernels"),
        .target(name: "CLeafLensCodecs", dependencies: ["CPNG", "CJPEG"]),

        // math ← model ← attribution ← imaging ← CLI
        .target(name: "LeafLensMath", dependencies: ["CBLAS", "CLeafLensKernels"]),
        .target(name: "LeafLensModel", dependencies: ["LeafLensMath"]),
        .target(name: "LeafLensAttribution", dependencies: ["LeafLensMath", "LeafLensModel"]),
        .target(name: "LeafLensImaging", dependencies: ["LeafLensMath", "CLeafLensCodecs"]),
        .target(name: "LeafLensTraining", dependencies: ["LeafLensMath", "LeafLensModel", "LeafLensImaging"]),
        .executableTarget(
            name: "leaflens",
            dependencies: [
                "LeafLensMath", "LeafLensModel", "LeafLensAttribution", "LeafLensImaging", "LeafLensTraining",
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
            name: "LeafLensCLITests",
            dependencies: ["leaflens", "LeafLensMath", "LeafLensImaging", "LeafLensTestSupport"], exclude: ["Help"]),
    ],
    swiftLanguageModes: [.v6]
)
