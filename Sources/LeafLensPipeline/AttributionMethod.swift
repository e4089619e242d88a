import Foundation
import LeafLensAttribution
import LeafLensImaging

/// The attribution methods LeafLens runs: the ONE list used by `explain` and `evaluate` (and whatever
/// comes next). Raw values are the canonical names, used in output file names
/// (`<stem>.<method>.npy`), JSON records and reports.
///
/// Adding a method (ARCHITECTURE.md): a case here with its name, aliases, short name, title, reference
/// and space;
/// one branch in `Explainer.explain`; its parameters in `MethodParameters` (and `displayPairs`).
public enum AttributionMethod: String, CaseIterable, Codable, Sendable {
    case integratedGradients = "integrated-gradients"
    case gradCAM = "grad-cam"
    case occlusion
    case saliency
    case inputXGradient = "input-x-gradient"
    case gradientShap = "gradient-shap"
    case guidedBackprop = "guided-backprop"
    case deconvolution
    case guidedGradCAM = "guided-grad-cam"
    // pytorch-grad-cam's CAM family (issue 12 item 4; `AttributionMethod+CAM.swift`)
    case gradCAMPlusPlus = "grad-cam-plus-plus", xGradCAM = "xgrad-cam", layerCAM = "layer-cam", hiResCAM = "hires-cam"
    case gradCAMElementWise = "grad-cam-element-wise", eigenCAM = "eigen-cam", eigenGradCAM = "eigen-grad-cam"
    case scoreCAM = "score-cam", ablationCAM = "ablation-cam"
    // Captum's segment methods (issue 12 item 5)
    case featureAblation = "feature-ablation", shapleyValueSampling = "shapley-value-sampling"
    case kernelShap = "kernel-shap", lime

    /// Where the attributions live.
    public enum Space: String, Sendable {
        /// `[3, H, W]`, one value per input element.
        case input
        /// `[h, w]` at a layer's resolution, drawn upsampled to the input.
        case layer
    }

    /// Accepted spellings besides the canonical name (lower-case; input is trimmed and lower-cased).
    public var aliases: [String] {
        switch self {
        case .integratedGradients: ["ig", "integrated_gradients", "integratedgradients"]
        case .gradCAM: ["gradcam", "grad_cam", "layer-grad-cam"]
        case .occlusion: []
        case .saliency: []
        case .inputXGradient: ["input-x-grad", "input_x_gradient", "inputxgradient", "ixg"]
        case .gradientShap: ["gradientshap", "gradient_shap", "gshap"]
        case .guidedBackprop: ["guidedbackprop", "guided_backprop", "gbp"]
        case .deconvolution: ["deconv"]
        case .guidedGradCAM: ["guidedgradcam", "guided_grad_cam", "guided-gradcam"]
        default: familyAliases
        }
    }

    /// The alias help screens show beside the name, if any.
    public var shortName: String? {
        switch self {
        case .integratedGradients: "ig"
        case .gradCAM: "gradcam"
        case .occlusion, .saliency, .inputXGradient, .deconvolution, .gradientShap: nil
        case .guidedBackprop: "gbp"
        case .guidedGradCAM: "guided-gradcam"
        case .gradCAMPlusPlus: "gradcam++"
        default: nil
        }
    }

    /// The title used in panels and reports.
    public var title: String {
        switch self {
        case .integratedGradients: "Integrated Gradients"
        case .gradCAM: "Grad-CAM"
        case .occlusion: "Occlusion"
        case .saliency: "Saliency"
        case .inputXGradient: "Input x Gradient"
        case .gradientShap: "GradientShap"
        case .guidedBackprop: "Guided Backprop"
        case .deconvolution: "Deconvolution"
        case .guidedGradCAM: "Guided Grad-CAM"
        default: familyTitle
        }
    }

    /// The implementation whose numbers LeafLens reproduces.
    public var reference: String {
        switch self {
        case .integratedGradients: "Captum 0.9 IntegratedGradients"
        case .gradCAM: "Captum 0.9 LayerGradCam (+ interpolate); pytorch-grad-cam 1.5.7 GradCAM"
        case .occlusion: "Captum 0.9 Occlusion"
        case .saliency: "Captum 0.9 Saliency"
        case .inputXGradient: "Captum 0.9 InputXGradient"
        case .gradientShap: "Captum 0.9 GradientShap"
        case .guidedBackprop: "Captum 0.9 GuidedBackprop"
        case .deconvolution: "Captum 0.9 Deconvolution"
        case .guidedGradCAM: "Captum 0.9 GuidedGradCam"
        default: familyReference
        }
    }

    public var space: Space { self == .gradCAM || isCAMFamily ? .layer : .input }

    /// Methods whose attributions live in input space `[3, H, W]`.
    public var isInputSpace: Bool { space == .input }

    /// The method a spelling names (canonical name or alias, any case, surrounding spaces ignored).
    public init?(name: String) {
        let key = name.trimmingCharacters(in: .whitespaces).lowercased()
        guard let method = AttributionMethod(rawValue: key) ?? Self.allCases.first(where: { $0.aliases.contains(key) })
        else { return nil }
        self = method
    }

    /// `a,b,c`: one or more methods, duplicates dropped, order kept; nil if any part is unknown or the
    /// list is empty.
    public static func list(_ text: String) -> [AttributionMethod]? {
        var methods: [AttributionMethod] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let method = AttributionMethod(name: String(part)) else { return nil }
            if !methods.contains(method) { methods.append(method) }
        }
        return methods.isEmpty ? nil : methods
    }
}

// The libraries' closed choices that commands expose as options, under the pipeline's name so the CLI
// needs no other module.
public typealias IntegrationRule = LeafLensAttribution.IntegrationRule
public typealias UpsampleMode = LeafLensAttribution.UpsampleMode
public typealias AttributionSign = LeafLensImaging.AttributionSign
public typealias CAMPostprocessing = LeafLensAttribution.CAMPostprocessing
public typealias SegmentSpec = LeafLensAttribution.SegmentSpec
public typealias LimeSurrogate = LeafLensAttribution.Lime.InterpretableModel
