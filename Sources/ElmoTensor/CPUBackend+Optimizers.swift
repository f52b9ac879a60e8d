/// Fused optimizer updates of the CPU backend: one pass over a parameter, its gradient and its slots.
extension CPUBackend {
    public func sgdUpdate(_ p: inout Tensor, gradient: Tensor, learningRate lr: Float, weightDecay wd: Float) {
        checkSlots(p, gradient)
        gradient.withPointer { grad in
            p.withMutablePointer { p in for i in 0..<gradient.count { p[i] -= lr * (grad[i] + wd * p[i]) } }
        }
    }

    public func sgdMomentumUpdate(_ p: inout Tensor, gradient: Tensor, buffer: inout Tensor, learningRate lr: Float, momentum mu: Float,
                                  nesterov: Bool, weightDecay wd: Float) {
        checkSlots(p, gradient, buffer)
        let n = p.count
        gradient.withPointer { grad in
            buffer.withMutablePointer { b in
                p.withMutablePointer { p in
                    if nesterov {
                        for i in 0..<n {
                            let g = grad[i] + wd * p[i]
                            let bi = mu * b[i] + g
                            b[i] = bi
                            p[i] -= lr * (g + mu * bi)
                        }
                    } else {
                        for i in 0..<n {
                            let bi = mu * b[i] + grad[i] + wd * p[i]
                            b[i] = bi
                            p[i] -= lr * bi
                        }
                    }
                }
            }
        }
    }

    public func adagradUpdate(_ p: inout Tensor, gradient: Tensor, accumulator: inout Tensor, learningRate lr: Float, epsilon eps: Float,
                              weightDecay wd: Float) {
        checkSlots(p, gradient, accumulator)
        let n = p.count
        gradient.withPointer { grad in
            accumulator.withMutablePointer { a in
                p.withMutablePointer { p in
                    // Eight lanes at a time (the compiler leaves a scalar loop's square root and division scalar),
                    // with the same operations in the same order on every element, so each result is bitwise the
                    // scalar formula's; the last group's missing lanes are loaded as 0 and not stored.
                    var i = 0
                    while i < n {
                        let w = min(Kernels.Vector.scalarCount, n - i)
                        let g = Kernels.load(grad + i, w) + wd * Kernels.load(p + i, w)
                        let ai = Kernels.load(a + i, w) + g * g
                        Kernels.store(ai, a + i, w)
                        Kernels.store(Kernels.load(p + i, w) - lr * g / (ai.squareRoot() + eps), p + i, w)
                        i += w
                    }
                }
            }
        }
    }

    public func adamUpdate(_ p: inout Tensor, gradient: Tensor, firstMoment: inout Tensor, secondMoment: inout Tensor, _ s: AdamStep) {
        checkSlots(p, gradient, firstMoment, secondMoment)
        let n = p.count
        let b1 = s.beta1, b2 = s.beta2, eps = s.epsilon, l2 = s.l2, shrink = s.shrink
        let stepSize = s.stepSize, inverseRootCorrection2 = s.inverseRootCorrection2
        gradient.withPointer { grad in
            firstMoment.withMutablePointer { m in
                secondMoment.withMutablePointer { v in
                    p.withMutablePointer { p in
                        for i in 0..<n {
                            let g = grad[i] + l2 * p[i]
                            let mi = b1 * m[i] + (1 - b1) * g
                            let vi = b2 * v[i] + (1 - b2) * g * g
                            m[i] = mi
                            v[i] = vi
                            p[i] = p[i] * shrink - stepSize * mi / (vi.squareRoot() * inverseRootCorrection2 + eps)
                        }
                    }
                }
            }
        }
    }
}

/// A parameter, its gradient and its optimizer slots hold the same number of elements.
func checkSlots(_ p: Tensor, _ others: Tensor...) {
    for o in others {
        precondition(o.count == p.count, "optimizer update: a slot or gradient of \(o.shape) for a parameter of \(p.shape).")
    }
}

