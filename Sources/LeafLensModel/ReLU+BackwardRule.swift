import LeafLensMath

/// Which local gradient a ReLU passes backwards. The ordinary rule is the derivative; the other two
/// are the modified backward passes of the guided attribution methods (Captum 0.9's
/// `GuidedBackprop` and `Deconvolution` hook every ReLU call with exactly these rules).
///
/// With y = max(x, 0), dy the incoming gradient and [·] the indicator (strict: x = 0 blocks):
///
///     standard:      dx = dy·[y > 0]
///     guided:        dx = max(dy, 0)·[y > 0]        (Springenberg et al. 2015, guided backprop)
///     deconvolution: dx = max(dy, 0)                (Zeiler & Fergus 2014; the forward mask is ignored)
public enum ReLUBackwardRule: String, CaseIterable, Sendable {
    case standard
    case guided
    case deconvolution
}

extension ReLU {
    /// In place: g ← the rule's dx for incoming gradient g and forward output y (y > 0 ⇔ x > 0).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backwardInPlace<T: TensorScalar>(
        _ g: inout Tensor<T>, output y: Tensor<T>, rule: ReLUBackwardRule
    ) {
        switch rule {
        case .standard:
            backwardInPlace(&g, output: y)
        case .guided:
            g.storage.withUnsafeMutableBufferPointer { d in
                y.storage.withUnsafeBufferPointer { o in
                    for i in 0..<min(d.count, o.count) { d[i] = o[i] > 0 && d[i] > 0 ? d[i] : 0 }
                }
            }
        case .deconvolution:
            g.storage.withUnsafeMutableBufferPointer { d in
                for i in d.indices { d[i] = d[i] > 0 ? d[i] : 0 }
            }
        }
    }
}

extension ReLU {
    /// The rule's dx for incoming gradient dy and forward output y.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backward<T: TensorScalar>(
        gradOutput dy: Tensor<T>, output y: Tensor<T>, rule: ReLUBackwardRule
    ) -> Tensor<T> {
        var dx = dy
        backwardInPlace(&dx, output: y, rule: rule)
        return dx
    }
}
