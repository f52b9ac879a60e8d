/// Every parameter's gradient laid end to end in one contiguous tensor (llm.c's `grads_memory`), so that one
/// collective call (an MPI all-reduce) can move all of them at once.
///
/// Each `Parameter` keeps its own gradient tensor, which the layers accumulate into; `gather()` copies them into
/// `flat` (parameter i at elements `offsets[i] ..< offsets[i] + count`, in the order given) and `scatter()` copies
/// `flat` back. The copies go through the backend, so no pointer work leaks into layers or optimizers. (Two copies
/// of the parameter count per step: small next to a step's gemms; making the gradients views into `flat` would save
/// them, but needs Tensor storage that can alias, which it deliberately cannot yet.)
public final class GradientBuffer {
    public let parameters: [Parameter]
    /// Element offset of each parameter's gradient inside `flat`.
    public let offsets: [Int]
    /// All gradients, `[totalCount]`.
    public var flat: Tensor

    public init(parameters: [Parameter]) {
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

    /// Copies every parameter's gradient into `flat`.
    public func gather() {
        let backend = Backends.current
        for (i, parameter) in parameters.enumerated() where parameter.gradient.count > 0 {
            let g = parameter.gradient
            backend.copy(g.view(MatrixWindow(rows: 1, columns: g.count)), into: &flat, window(of: i))
        }
    }

    /// Copies `flat` back into every parameter's gradient.
    public func scatter() {
        let backend = Backends.current
        for (i, parameter) in parameters.enumerated() where parameter.gradient.count > 0 {
            let w = window(of: i)
            backend.copy(flat.view(w), into: &parameter.gradient, MatrixWindow(rows: 1, columns: w.columns))
        }
    }
}
