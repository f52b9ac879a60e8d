/// The optimizer update formulas of the reference backend, element by element in Double.
extension ReferenceBackend {
    public func sgdUpdate(_ p: inout Tensor, gradient: Tensor, learningRate lr: Float, weightDecay wd: Float) {
        checkSlots(p, gradient)
        for i in 0..<p.count {
            let w = Double(p.storage[i])
            p.storage[i] = Float(w - Double(lr) * (Double(gradient.storage[i]) + Double(wd) * w))
        }
    }

    public func sgdMomentumUpdate(_ p: inout Tensor, gradient: Tensor, buffer: inout Tensor, learningRate lr: Float, momentum mu: Float,
                                  nesterov: Bool, weightDecay wd: Float) {
        checkSlots(p, gradient, buffer)
        for i in 0..<p.count {
            let w = Double(p.storage[i])
            let g = Double(gradient.storage[i]) + Double(wd) * w
            let b = Double(mu) * Double(buffer.storage[i]) + g
            buffer.storage[i] = Float(b)
            p.storage[i] = Float(w - Double(lr) * (nesterov ? g + Double(mu) * b : b))
        }
    }

    public func adagradUpdate(_ p: inout Tensor, gradient: Tensor, accumulator: inout Tensor, learningRate lr: Float, epsilon eps: Float,
                              weightDecay wd: Float) {
        checkSlots(p, gradient, accumulator)
        for i in 0..<p.count {
            let w = Double(p.storage[i])
            let g = Double(gradient.storage[i]) + Double(wd) * w
            let a = Double(accumulator.storage[i]) + g * g
            accumulator.storage[i] = Float(a)
            p.storage[i] = Float(w - Double(lr) * g / (a.squareRoot() + Double(eps)))
        }
    }

    public func adamUpdate(_ p: inout Tensor, gradient: Tensor, firstMoment: inout Tensor, secondMoment: inout Tensor, _ s: AdamStep) {
        checkSlots(p, gradient, firstMoment, secondMoment)
        let b1 = Double(s.beta1), b2 = Double(s.beta2)
        for i in 0..<p.count {
            let w = Double(p.storage[i])
            let g = Double(gradient.storage[i]) + Double(s.l2) * w
            let m = b1 * Double(firstMoment.storage[i]) + (1 - b1) * g
            let v = b2 * Double(secondMoment.storage[i]) + (1 - b2) * g * g
            firstMoment.storage[i] = Float(m)
            secondMoment.storage[i] = Float(v)
            p.storage[i] = Float(w * Double(s.shrink)
                                 - Double(s.stepSize) * m / (v.squareRoot() * Double(s.inverseRootCorrection2) + Double(s.epsilon)))
        }
    }
}
