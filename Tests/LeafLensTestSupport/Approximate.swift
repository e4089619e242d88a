import Foundation
import LeafLensMath
import Testing

/// The one approximate-equality rule every numeric test uses:
///
///     shapes equal, and for every element i:  |aᵢ − bᵢ| ≤ atol + rtol·|bᵢ|
///
/// where `b` is the reference. On failure the message names the worst element (largest excess over
/// its tolerance), its multi-index, both values and how far over tolerance it was.
public struct Closeness: Sendable, CustomStringConvertible {
    public let count: Int
    public let worstIndex: [Int]
    public let actual: Double
    public let expected: Double
    public let excess: Double  // |a−b| − (atol + rtol·|b|); ≤ 0 means within tolerance
    public let maxAbsDifference: Double
    public var passed: Bool { excess <= 0 }

    public var description: String {
        "worst element at \(worstIndex): actual \(actual), expected \(expected), "
            + "|diff| \(abs(actual - expected)) exceeds tolerance by \(max(0, excess)) "
            + "(max |diff| over \(count) elements: \(maxAbsDifference))"
    }
}

public func closeness(
    _ actual: [Double], _ expected: [Double], shape: [Int], atol: Double, rtol: Double
) -> Closeness {
    var worst = 0
    var worstExcess = -Double.infinity
    var maxDiff = 0.0
    for i in 0..<min(actual.count, expected.count) {
        let diff = abs(actual[i] - expected[i])
        let excess = actual[i].isNaN || expected[i].isNaN ? .infinity : diff - (atol + rtol * abs(expected[i]))
        maxDiff = max(maxDiff, diff.isNaN ? .infinity : diff)
        if excess > worstExcess { worstExcess = excess; worst = i }
    }
    var index: [Int] = []
    var rest = worst
    for dim in shape.reversed() {
        index.insert(dim > 0 ? rest % dim : 0, at: 0)
        rest = dim > 0 ? rest / dim : 0
    }
    return Closeness(
        count: actual.count, worstIndex: index,
        actual: actual.isEmpty ? 0 : actual[worst], expected: expected.isEmpty ? 0 : expected[worst],
        excess: actual.isEmpty ? 0 : worstExcess, maxAbsDifference: maxDiff)
}

/// Expects `actual` to equal `expected` element-wise within `atol + rtol·|expected|`, shape first.
@discardableResult
public func expectClose<A: TensorScalar, B: TensorScalar>(
    _ actual: Tensor<A>, _ expected: Tensor<B>, atol: Double = 1e-6, rtol: Double = 1e-5,
    _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    guard actual.shape == expected.shape else {
        Issue.record(
            "shape mismatch: actual \(actual.shape), expected \(expected.shape) \(comment)",
            sourceLocation: sourceLocation)
        return false
    }
    let result = closeness(
        actual.storage.map(Double.init), expected.storage.map(Double.init), shape: expected.shape,
        atol: atol, rtol: rtol)
    if !result.passed {
        Issue.record("\(comment) \(result)", sourceLocation: sourceLocation)
    }
    return result.passed
}

/// Same rule for plain arrays (shape = [count]).
@discardableResult
public func expectClose<A: BinaryFloatingPoint, B: BinaryFloatingPoint>(
    _ actual: [A], _ expected: [B], atol: Double = 1e-6, rtol: Double = 1e-5,
    _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    guard actual.count == expected.count else {
        Issue.record(
            "length mismatch: actual \(actual.count), expected \(expected.count) \(comment)",
            sourceLocation: sourceLocation)
        return false
    }
    let result = closeness(
        actual.map { Double($0) }, expected.map { Double($0) }, shape: [expected.count],
        atol: atol, rtol: rtol)
    if !result.passed {
        Issue.record("\(comment) \(result)", sourceLocation: sourceLocation)
    }
    return result.passed
}

/// Relative L2 error ‖a − b‖₂ / ‖b‖₂ (b the reference), used where a tolerance is stated that way.
public func relativeL2Error<A: TensorScalar, B: TensorScalar>(_ a: Tensor<A>, _ b: Tensor<B>) -> Double {
    var num = 0.0, den = 0.0
    for i in 0..<min(a.count, b.count) {
        let d = Double(a.storage[i]) - Double(b.storage[i])
        num += d * d
        den += Double(b.storage[i]) * Double(b.storage[i])
    }
    return den == 0 ? num.squareRoot() : (num / den).squareRoot()
}
