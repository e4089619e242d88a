import LeafLensPipeline
import Testing

@Suite struct AttributionMethodTests {
    @Test(arguments: AttributionMethod.allCases)
    func everySpellingNamesItsMethod(_ method: AttributionMethod) {
        #expect(AttributionMethod(name: method.rawValue) == method)
        #expect(AttributionMethod(name: " \(method.rawValue.uppercased()) ") == method)
        for alias in method.aliases { #expect(AttributionMethod(name: alias) == method, "\(alias)") }
        if let short = method.shortName { #expect(method.aliases.contains(short)) }
        #expect(!method.title.isEmpty && !method.reference.isEmpty)
    }

    @Test func spellingsAreUnambiguous() {
        let spellings = AttributionMethod.allCases.flatMap { [$0.rawValue] + $0.aliases }
        #expect(Set(spellings).count == spellings.count)
    }

    @Test func listsKeepOrderAndDropDuplicates() {
        #expect(AttributionMethod.list("ig,gradcam,integrated-gradients") == [.integratedGradients, .gradCAM])
        #expect(AttributionMethod.list("occlusion") == [.occlusion])
        #expect(AttributionMethod.list("ig,") == nil)
        #expect(AttributionMethod.list("") == nil)
        #expect(AttributionMethod.list("ig,lemon") == nil)
    }

    @Test func gradCAMAndTheCAMFamilyLiveInLayerSpace() {
        #expect(AttributionMethod.allCases.filter { $0.space == .layer } == [.gradCAM] + AttributionMethod.camFamily)
    }
}

@Suite struct InputSizeTests {
    @Test func torchvisionDefaults() {
        #expect(InputSize.resolve(metadata: [:]) == InputSize(resize: 256, crop: 224))
        #expect(InputSize.resolve(noResize: true, metadata: [:]) == InputSize(resize: nil, crop: 224))
    }

    @Test func weightsMetadataThenOptions() {
        let trained = ["image_size": "128", "resize": "146"]
        #expect(InputSize.resolve(metadata: trained) == InputSize(resize: 146, crop: 128))
        #expect(InputSize.resolve(resize: 64, crop: 56, metadata: trained) == InputSize(resize: 64, crop: 56))
        #expect(InputSize.resolve(crop: 100, metadata: trained) == InputSize(resize: 146, crop: 100))
    }

    /// Without a stored resize, the resize keeps torchvision's 256/224 ratio to the crop.
    @Test func resizeFollowsTheCrop() {
        #expect(InputSize.resolve(crop: 112, metadata: [:]) == InputSize(resize: 128, crop: 112))
        #expect(InputSize.resolve(metadata: ["image_size": "128"]) == InputSize(resize: 146, crop: 128))
        #expect(InputSize.proportionalResize(crop: 224) == 256)
    }

    @Test func unusableStoredValuesAreIgnored() {
        #expect(InputSize.resolve(metadata: ["image_size": "0", "resize": "big"]) == InputSize(resize: 256, crop: 224))
    }
}
