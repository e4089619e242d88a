import LeafLensMath

/// Winograd's minimal filtering F(2×2, 3×3) for 3×3, stride-1, padding-1 convolutions (Lavin & Gray 2016),
/// used by the inference forward pass. Each 2×2 output tile comes from a 4×4 input tile d:
///
///     Y = Aᵀ [ Σ_c (G g_{o,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A
///
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]   Aᵀ = [1 1 1 0; 0 1 −1 −1]
///
/// The sum over input channels c is 16 GEMMs (one per tile position ξ): M_ξ[O × T] = U_ξ[O × C] · V_ξ[C × T],
/// with T the tiles of all images in the batch — 16 multiplies per tile instead of 36 (2.25× fewer).
/// Rounding differs from the direct sum in the last bits only (tests compare against it).
struct WinogradFilters<T: TensorScalar>: Sendable {
    /// U, as 16 consecutive `[O, C]` matrices.
    let values: [T]
    let outChannels: Int
    let inChannels: Int

    /// U_{o,c} = G g Gᵀ for every filter g = weight[o, c] (3×3), split over output channels.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    init(weight: Tensor<T>) {
        let (o, c) = (weight.shape[0], weight.shape[1])
        let total = 16 * o * c
        values = [T](unsafeUninitializedCapacity: total) { buffer, initialized in
            weight.storage.withUnsafeBufferPointer { ws in
                guard let u = buffer.baseAddress, let g = ws.baseAddress else { return }
                let up = UnsafeSendable(u), gp = UnsafeSendable(g)
                let parts = Parallel.chunks(o, minimum: 16)
                Parallel.forEach(parts.count) { part in
                    Self.transform(gp.value, into: up.value, outChannels: parts[part], o: o, c: c)
                }
            }
            initialized = total
        }
        outChannels = o
        inChannels = c
    }

    /// Writes U for the filters of output channels `range` (every entry of those rows of the 16 matrices).
    @inline(__always)
    private static func transform(
        _ weight: UnsafePointer<T>, into u: UnsafeMutablePointer<T>, outChannels range: Range<Int>, o: Int, c: Int
    ) {
        let half: T = 0.5
        for oc in range {
            for ic in 0..<c {
                let f = weight + (oc * c + ic) * 9
                @inline(__always) func w(_ r: Int, _ col: Int) -> T { f[r * 3 + col] }
                // Row `row` of G·g (3 values), then · Gᵀ: a, ½(a + b + d), ½(a − b + d), d.
                @inline(__always) func store(_ row: Int, _ a: T, _ b: T, _ d: T) {
                    let at = oc * c + ic, plane = o * c
                    u[(row * 4 + 0) * plane + at] = a
                    u[(row * 4 + 1) * plane + at] = half * (a + b + d)
                    u[(row * 4 + 2) * plane + at] = half * (a - b + d)
                    u[(row * 4 + 3) * plane + at] = d
                }
                // G·g rows: g₀, ½(g₀ + g₁ + g₂), ½(g₀ − g₁ + g₂), g₂ (gᵢ = rows of the filter).
                store(0, w(0, 0), w(0, 1), w(0, 2))
                store(
                    1, half * (w(0, 0) + w(1, 0) + w(2, 0)), half * (w(0, 1) + w(1, 1) + w(2, 1)),
                    half * (w(0, 2) + w(1, 2) + w(2, 2)))
                store(
                    2, half * (w(0, 0) - w(1, 0) + w(2, 0)), half * (w(0, 1) - w(1, 1) + w(2, 1)),
                    half * (w(0, 2) - w(1, 2) + w(2, 2)))
                store(3, w(2, 0), w(2, 1), w(2, 2))
            }
        }
    }

    /// y = conv(x) for `[N, C, H, W]` → `[N, O, H, W]` (bias added by the caller).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func convolve(_ x: Tensor<T>) -> Tensor<T> {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let o = outChannels
        let (th, tw) = ((h + 1) / 2, (w + 1) / 2)
        let tilesPerImage = th * tw
        let tiles = n * tilesPerImage
        var y = Tensor<T>(zeros: [n, o, h, w])
        guard tiles > 0, c > 0, o > 0 else { return y }
        let v = UnsafeMutablePointer<T>.allocate(capacity: 16 * c * tiles)
        let m = UnsafeMutablePointer<T>.allocate(capacity: 16 * o * tiles)
        defer { v.deallocate(); m.deallocate() }
        let vp = UnsafeSendable(v), mp = UnsafeSendable(m)
        x.storage.withUnsafeBufferPointer { xs in
            let xp = UnsafeSendable(xs.baseAddress!)  // safe: tiles > 0 and c > 0, so x is non-empty
            // Input transform V_ξ[c, t] = (Bᵀ d B)_ξ, split over channels.
            let channelParts = Parallel.chunks(c)
            Parallel.forEach(channelParts.count) { part in
                for ic in channelParts[part] {
                    for b in 0..<n {
                        let inputOffset: Int = (b &* c &+ ic) &* h &* w
                        let plane = xp.value + inputOffset
                        for ty in 0..<th {
                            for tx in 0..<tw {
                                let y0 = ty &* 2 &- 1, x0 = tx &* 2 &- 1
                                @inline(__always) func at(_ r: Int, _ s: Int) -> T {
                                    let iy = y0 &+ r, ix = x0 &+ s
                                    return iy >= 0 && iy < h && ix >= 0 && ix < w ? plane[iy &* w &+ ix] : 0
                                }
                                // Rows of Bᵀd: d0 − d2, d1 + d2, d2 − d1, d1 − d3 (element-wise over columns).
                                let (a0, a1, a2, a3) = (at(0, 0), at(0, 1), at(0, 2), at(0, 3))
                                let (b0, b1, b2, b3) = (at(1, 0), at(1, 1), at(1, 2), at(1, 3))
                                let (c0, c1, c2, c3) = (at(2, 0), at(2, 1), at(2, 2), at(2, 3))
                                let (e0, e1, e2, e3) = (at(3, 0), at(3, 1), at(3, 2), at(3, 3))
                                let column = b &* tilesPerImage &+ ty &* tw &+ tx
                                let base = vp.value + (ic &* tiles &+ column)
                                let stride = c &* tiles
                                // · B on row r of Bᵀd: t0 − t2, t1 + t2, t2 − t1, t1 − t3, stored at ξ = 4r + s.
                                @inline(__always) func store(_ r: Int, _ t0: T, _ t1: T, _ t2: T, _ t3: T) {
                                    base[(r &* 4) &* stride] = t0 - t2
                                    base[(r &* 4 &+ 1) &* stride] = t1 + t2
                                    base[(r &* 4 &+ 2) &* stride] = t2 - t1
                                    base[(r &* 4 &+ 3) &* stride] = t1 - t3
                                }
                                store(0, a0 - c0, a1 - c1, a2 - c2, a3 - c3)
                                store(1, b0 + c0, b1 + c1, b2 + c2, b3 + c3)
                                store(2, c0 - b0, c1 - b1, c2 - b2, c3 - b3)
                                store(3, b0 - e0, b1 - e1, b2 - e2, b3 - e3)
                            }
                        }
                    }
                }
            }
        }
        // 16 independent GEMMs, split across workers.
        values.withUnsafeBufferPointer { us in
            let up = UnsafeSendable(us.baseAddress!)  // safe: 16·O·C > 0
            let parts = Parallel.chunks(16)
            Parallel.forEach(parts.count) { part in
                for xi in parts[part] {
                    GEMM.serial(
                        transA: false, transB: false, m: o, n: tiles, k: c, alpha: 1,
                        a: up.value + xi &* o &* c, lda: c, b: vp.value + xi &* c &* tiles, ldb: tiles, beta: 0,
                        c: mp.value + xi &* o &* tiles, ldc: tiles)
                }
            }
        }
        // Output transform Y = Aᵀ M A per tile, split over output channels.
        y.storage.withUnsafeMutableBufferPointer { ys in
            let yp = UnsafeSendable(ys.baseAddress!)  // safe: y has n·o·h·w > 0 elements
            let outParts = Parallel.chunks(o)
            Parallel.forEach(outParts.count) { part in
                for oc in outParts[part] {
                    for b in 0..<n {
                        let offset: Int = (b &* o &+ oc) &* h &* w
                        let plane = yp.value + offset
                        for ty in 0..<th {
                            for tx in 0..<tw {
                                let column = b &* tilesPerImage &+ ty &* tw &+ tx
                                let base = mp.value + (oc &* tiles &+ column)
                                let stride = o &* tiles
                                @inline(__always) func q(_ xi: Int) -> T { base[xi &* stride] }
                                // Aᵀ q: rows q0 + q1 + q2 and q1 − q2 − q3 (rows of the 4×4 tile), then · A.
                                let r00 = q(0) + q(4) + q(8), r01 = q(1) + q(5) + q(9)
                                let r02 = q(2) + q(6) + q(10), r03 = q(3) + q(7) + q(11)
                                let r10 = q(4) - q(8) - q(12), r11 = q(5) - q(9) - q(13)
                                let r12 = q(6) - q(10) - q(14), r13 = q(7) - q(11) - q(15)
                                let out = (r00 + r01 + r02, r01 - r02 - r03, r10 + r11 + r12, r11 - r12 - r13)
                                let oy = ty &* 2, ox = tx &* 2
                                plane[oy &* w &+ ox] = out.0
                                if ox &+ 1 < w { plane[oy &* w &+ ox &+ 1] = out.1 }
                                if oy &+ 1 < h {
                                    plane[(oy &+ 1) &* w &+ ox] = out.2
                                    if ox &+ 1 < w { plane[(oy &+ 1) &* w &+ ox &+ 1] = out.3 }
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}
