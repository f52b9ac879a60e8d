import ElmoTensor
import Foundation

/// A gradient buffer's elements in memory that does not move, laid out as `GradientBuffer.flat` (parameter i at
/// `offsets[i]`), for non-blocking all-reduces that outlive any one Swift access to a tensor's storage: a pointer
/// into an array is only valid inside `withMutablePointer`, but MPI keeps writing into it until the request is done.
final class PinnedGradients {
    let count: Int
    let start: UnsafeMutablePointer<Float>

    init(count: Int) {
        self.count = count
        start = .allocate(capacity: max(count, 1))
        start.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { start.deallocate() }

    /// Copies the gradients of `gradients.parameters[members]` in, each element times `weight`: one pass instead of
    /// scaling the gradients first (the same products, so the same bits).
    func gather(_ members: Range<Int>, of gradients: GradientBuffer, scaledBy weight: Float) {
        for i in members {
            let n = gradients.parameters[i].gradient.count
            guard n > 0 else { continue }
            let target = start + gradients.offsets[i]
            gradients.parameters[i].gradient.withPointer { source in
                if weight == 1 {
                    target.update(from: source, count: n)
                } else {
                    for k in 0..<n { target[k] = source[k] * weight }
                }
            }
        }
    }

    /// Copies their summed gradients back.
    func scatter(_ members: Range<Int>, to gradients: GradientBuffer) {
        for i in members {
            let n = gradients.parameters[i].gradient.count
            guard n > 0 else { continue }
            let source = start + gradients.offsets[i]
            gradients.parameters[i].gradient.withMutablePointer { $0.update(from: source, count: n) }
        }
    }
}
