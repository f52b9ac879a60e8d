/// Every parameter's gradient laid end to end in one contiguous tensor (llm.c's `grads_memory`), so that one
/// collective call (an MPI all-reduce) can move all of them at once.
///
/// Each `Parameter` keeps its own gradient tensor, which the layers accumulate into; `gather()` copies them into
/// `flat` (parameter i at elements `offsets[i] ..< offsets[i] + count`, in the order given) and `scatter()` copies
/// `flat` back. The copies go through the backend, so no pointer work leaks into layers or optimizers. (Two copies
/// of the parameter count per step: small next to a step's gemms; making the gradients views into `flat` would save
/// them, but needs Tensor storage that can alias, which it deliberately cannot yet.)
///
/// Buckets are consecutive groups of parameters whose gradients a backward pass finishes together (PyTorch DDP's
/// buckets), so that a reducer can send one while backward still computes the next.
public final class GradientBuffer {
    public let parameters: [Parameter]
    /// Element offset of each parameter's gradient inside `flat`.
    public let offsets: [Int]
    /// All gradients, `[totalCount]`.
    public var flat: Tensor
    /// Each bucket's parameters, as indices into `parameters`, in the order given.
    public let buckets: [Range<Int>]

    /// One bucket of all parameters.
    public convenience init(parameters: [Parameter]) {
        self.init(buckets: [parameters])
    }

    /// The buckets' parameters end to end, bucket 0 first.
    public init(buckets: [[Parameter]]) {
        var ranges: [Range<Int>] = [], start = 0
        for bucket in buckets {
            ranges.append(start..<(start + bucket.count))
            start += bucket.count
        }
        self.buckets = ranges
        let parameters = buckets.flatMap { $0 }
        self.parameters = parameters
        var offsets: [Int] = [], total = 0
        for parameter in parameters {
            offsets.append(total)
            total += parameter.gradient.count
        }
        self.offsets = offsets
        flat = Tensor(zeros: [total])
    }

    /// Σ of the parameters' element counts.
    public var totalCount: Int { flat.count }

    /// The window of parameter `index` inside `flat`, as one row.
    public func window(of index: Int) -> MatrixWindow {
        MatrixWindow(offset: offsets[index], rows: 1, columns: parameters[index].gradient.count)
    }

    /// The elements of `flat` that bucket `index` occupies.
    public func elements(ofBucket index: Int) -> Range<Int> {
        let members = buckets[index]
        let end = members.upperBound < parameters.count ? offsets[members.upperBound] : totalCount
        return (members.isEmpty ? end : offsets[members.lowerBound])..<end
    }

    /// Copies every parameter's gradient into `flat`.
    public func gather() {
        gather(0..<parameters.count)
    }

    /// Copies the gradients of `parameters[members]` (e.g. one bucket) into their windows of `flat`.
    public func gather(_ members: Range<Int>) {
        let backend = Backends.current
        for i in members where parameters[i].gradient.count > 0 {
            let g = parameters[i].gradient
            backend.copy(g.view(MatrixWindow(rows: 1, columns: g.count)), into: &flat, window(of: i))
        }
    }

    /// Copies `flat` back into every parameter's gradient.
    public func scatter() {
        scatter(0..<parameters.count)
    }

    /// Copies the windows of `parameters[members]` back into their gradients.
    public func scatter(_ members: Range<Int>) {
        let backend = Backends.current
        for i in members where parameters[i].gradient.count > 0 {
            let w = window(of: i)
            backend.copy(flat.view(w), into: &parameters[i].gradient, MatrixWindow(rows: 1, columns: w.columns))
        }
    }
}
