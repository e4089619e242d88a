/// A rendered view: RGB, or RGBA for `alpha_scaling`.
public enum RenderedPicture: Sendable, Equatable {
    case rgb(RGBImage)
    case rgba(RGBAImage)

    public var width: Int {
        switch self {
        case .rgb(let image): image.width
        case .rgba(let image): image.width
        }
    }

    /// The picture as RGB; RGBA is composited over `background` (straight alpha, rounded).
    public func flattened(over background: RGBColor = .white) -> RGBImage {
        switch self {
        case .rgb(let image): return image
        case .rgba(let image):
            var pixels = [UInt8](repeating: 0, count: image.width * image.height * 3)
            let bg = [background.r, background.g, background.b]
            for i in 0..<(image.width * image.height) {
                let a = Int(image.pixels[i * 4 + 3])
                for c in 0..<3 {
                    let v = Int(image.pixels[i * 4 + c]) * a + Int(bg[c]) * (255 - a)
                    pixels[i * 3 + c] = UInt8((v + 127) / 255)  // safe: ≤ 255·255 / 255
                }
            }
            return RGBImage(uncheckedWidth: image.width, height: image.height, pixels: pixels)
        }
    }
}

/// Draws every view of one attribution in the chosen style (`RenderingOptions`), and the colour bar
/// that goes with it.
///
/// Styles:
/// - captum: heat = the sign's Captum colormap (or `colormap`); overlay = heat blended with alpha
///   1 − image weight over the grey image (Captum's `blended_heat_map`: channel mean stretched to its
///   own range) or over the colour image;
/// - grad-cam: heat = OpenCV JET of UInt8(255·v); overlay = `show_cam_on_image` over the colour image
///   or its unstretched channel mean (`GradCAMOverlay`). Values of sign `all` ([−1, 1]) enter JET as
///   (v + 1)/2, so 0 is its centre.
///
/// masked / alpha / original are the same in both styles (Captum's `masked_image`, `alpha_scaling`,
/// `original_image`).
public enum AttributionRenderer {
    public static func render(
        _ view: AttributionView, map: AttributionMap, original: RGBImage?, options: RenderingOptions,
        colormap: Colormap? = nil
    ) throws(RenderingError) -> RenderedPicture {
        try options.validate(sign: map.sign)
        if view.needsSignOtherThanAll, map.sign == .all { throw .viewNeedsSign(view) }
        if view == .heat {
            return .rgb(try heat(map, style: options.style, colormap: colormap))
        }
        guard let original else { throw .invalidInput("the \(view.rawValue) view needs the original image") }
        guard original.width == map.width, original.height == map.height else {
            throw .sizeMismatch(
                "original image is \(original.width)x\(original.height), attributions are \(map.width)x\(map.height)")
        }
        do {
            switch view {
            case .heat: return .rgb(try heat(map, style: options.style, colormap: colormap))
            case .overlay: return .rgb(try overlay(map, original: original, options: options, colormap: colormap))
            case .masked: return .rgb(try map.maskedImage(original: original))
            case .alpha: return .rgba(try map.alphaScaling(original: original))
            case .original: return .rgb(original)
            }
        } catch let error as ImageError {
            throw .invalidInput(error.description)
        } catch let error as RenderingError {
            throw error
        } catch {
            throw .invalidInput("\(error)")  // not reached: the calls above throw only these two types
        }
    }

    public static func heat(
        _ map: AttributionMap, style: OverlayStyle, colormap: Colormap? = nil
    ) throws(RenderingError)
        -> RGBImage
    {
        switch style {
        case .captum: return map.heatMap(colormap: colormap)
        case .gradCAM: return try GradCAMOverlay.heatMap(mask: jetMask(map), width: map.width, height: map.height)
        }
    }

    public static func overlay(
        _ map: AttributionMap, original: RGBImage, options: RenderingOptions, colormap: Colormap? = nil
    ) throws(RenderingError) -> RGBImage {
        guard options.imageWeight.isFinite, options.imageWeight >= 0, options.imageWeight <= 1 else {
            throw .imageWeightOutOfRange(options.imageWeight)
        }
        switch options.style {
        case .gradCAM:
            let base =
                options.overlayBase == .color ? GradCAMOverlay.unitRGB(original) : GradCAMOverlay.unitGray(original)
            return try GradCAMOverlay.overlay(
                base: base, mask: jetMask(map), width: map.width, height: map.height, imageWeight: options.imageWeight)
        case .captum:
            do {
                switch options.overlayBase {
                case .gray:
                    return try map.blendedHeatMap(
                        original: original, colormap: colormap, alphaOverlay: 1 - options.imageWeight)
                case .color:
                    return try map.blendedOverColor(
                        original: original, colormap: colormap, alphaOverlay: 1 - options.imageWeight)
                }
            } catch {
                throw .invalidInput(error.description)
            }
        }
    }

    /// The colour bar of a map drawn on `scale` in `style`.
    public static func colorBar(
        scale: AttributionScale, style: OverlayStyle, options: RenderingOptions, colormap: Colormap? = nil
    ) -> ColorBar {
        let caption = options.normalizationText(sharedMapCount: scale.mapCount > 1 ? scale.mapCount : nil)
        let stops: ColorBar.Stops =
            switch style {
            case .captum: .colormap(colormap ?? scale.sign.defaultColormap)
            case .gradCAM: .openCVJet
            }
        return ColorBar(
            stops: stops, ticks: scale.ticks.map { ($0.position, ColorBar.label($0.value)) }, caption: caption)
    }

    /// Map values as JET positions in [0, 1].
    static func jetMask(_ map: AttributionMap) -> [Float] {
        map.sign == .all ? map.values.map { ($0 + 1) / 2 } : map.values
    }
}

extension AttributionMap {
    /// The captum style over the colour image: alpha·heat + (1 − alpha)·original/255, rounded.
    public func blendedOverColor(
        original: RGBImage, colormap: Colormap? = nil, alphaOverlay: Double = 0.5
    )
        throws(ImageError) -> RGBImage
    {
        guard original.width == width, original.height == height else {
            throw ImageError(
                source: "<visualization>",
                problem: .invalidArgument(
                    "original image is \(original.width)x\(original.height), attributions are \(width)x\(height)"))
        }
        guard alphaOverlay >= 0, alphaOverlay <= 1 else {
            throw ImageError(source: "<visualization>", problem: .invalidArgument("alphaOverlay must be in 0...1"))
        }
        let map = colormap ?? sign.defaultColormap
        var pixels = [UInt8](repeating: 0, count: values.count * 3)
        for i in 0..<values.count {
            let (r, g, b) = map.color(normalized: normalizedForColormap(values[i]))
            let heat = [r, g, b]
            for c in 0..<3 {
                let base = Double(original.pixels[i * 3 + c]) / 255
                pixels[i * 3 + c] = Self.byte(alphaOverlay * heat[c] + (1 - alphaOverlay) * base)
            }
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }
}
