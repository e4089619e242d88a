import LeafLensAttribution

/// Names, titles and references of the pytorch-grad-cam CAM family and Captum's segment methods
/// (the `default:` branches of `AttributionMethod`'s switches).
extension AttributionMethod {
    /// The CAM family as pytorch-grad-cam computes it (layer space; `grad-cam` itself is apart).
    public static let camFamily: [AttributionMethod] = [
        .gradCAMPlusPlus, .xGradCAM, .layerCAM, .hiResCAM, .gradCAMElementWise, .eigenCAM, .eigenGradCAM, .scoreCAM,
        .ablationCAM,
    ]
    /// Captum's perturbation methods over image segments (`--segments`), input space `[3, H, W]`.
    public static let segmentMethods: [AttributionMethod] = [
        .featureAblation, .shapleyValueSampling, .kernelShap, .lime,
    ]
    /// The segment methods that draw random samples (`--samples`, `--seed`).
    public static let sampledSegmentMethods: [AttributionMethod] = [.shapleyValueSampling, .kernelShap, .lime]

    public var isCAMFamily: Bool { Self.camFamily.contains(self) }
    public var isSegmentMethod: Bool { Self.segmentMethods.contains(self) }

    var familyAliases: [String] {
        switch self {
        case .gradCAMPlusPlus: ["gradcam++", "grad-cam++", "gradcamplusplus", "gradcampp"]
        case .xGradCAM: ["xgradcam", "x-grad-cam"]
        case .layerCAM: ["layercam"]
        case .hiResCAM: ["hirescam"]
        case .gradCAMElementWise: ["gradcamelementwise", "grad-cam-elementwise"]
        case .eigenCAM: ["eigencam"]
        case .eigenGradCAM: ["eigengradcam"]
        case .scoreCAM: ["scorecam"]
        case .ablationCAM: ["ablationcam"]
        case .featureAblation: ["featureablation", "feature_ablation"]
        case .shapleyValueSampling: ["shapley", "shapleyvaluesampling", "shapley_value_sampling"]
        case .kernelShap: ["kernelshap", "kernel_shap"]
        default: []
        }
    }

    var familyTitle: String {
        switch self {
        case .gradCAMPlusPlus: "Grad-CAM++"
        case .xGradCAM: "XGrad-CAM"
        case .layerCAM: "LayerCAM"
        case .hiResCAM: "HiResCAM"
        case .gradCAMElementWise: "Grad-CAM element-wise"
        case .eigenCAM: "EigenCAM"
        case .eigenGradCAM: "EigenGradCAM"
        case .scoreCAM: "Score-CAM"
        case .ablationCAM: "Ablation-CAM"
        case .featureAblation: "Feature Ablation"
        case .shapleyValueSampling: "Shapley Value Sampling"
        case .kernelShap: "Kernel SHAP"
        case .lime: "LIME"
        default: rawValue
        }
    }

    var familyReference: String {
        switch self {
        case .gradCAMPlusPlus: "pytorch-grad-cam 1.5.7 GradCAMPlusPlus"
        case .xGradCAM: "pytorch-grad-cam 1.5.7 XGradCAM"
        case .layerCAM: "pytorch-grad-cam 1.5.7 LayerCAM"
        case .hiResCAM: "pytorch-grad-cam 1.5.7 HiResCAM"
        case .gradCAMElementWise: "pytorch-grad-cam 1.5.7 GradCAMElementWise"
        case .eigenCAM: "pytorch-grad-cam 1.5.7 EigenCAM"
        case .eigenGradCAM: "pytorch-grad-cam 1.5.7 EigenGradCAM"
        case .scoreCAM: "pytorch-grad-cam 1.5.7 ScoreCAM"
        case .ablationCAM: "pytorch-grad-cam 1.5.7 AblationCAM"
        case .featureAblation: "Captum 0.9 FeatureAblation (feature mask of segments)"
        case .shapleyValueSampling: "Captum 0.9 ShapleyValueSampling"
        case .kernelShap: "Captum 0.9 KernelShap"
        case .lime: "Captum 0.9 Lime"
        default: ""
        }
    }
}

extension SegmentSpec {
    /// The spelling `SegmentSpec(parsing:)` reads back (`grid:8`, `slic:100,10.0`, `labels.png`).
    public var text: String {
        switch self {
        case .grid(let n): "grid:\(n)"
        case .slic(let n, let compactness): "slic:\(n),\(compactness)"
        case .labelImage(let path): path
        }
    }
}
