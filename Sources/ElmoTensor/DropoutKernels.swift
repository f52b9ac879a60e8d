extension Kernels {
    /// y[i] = x[i] · mask[i] for n elements (x and y may alias); dropout's forward and backward alike.
    @usableFromInline package static func multiplyByMask(_ x: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                      _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = x[i] * mask[i] }
    }
}
