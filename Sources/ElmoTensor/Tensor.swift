/// A dense Float32 tensor: a shape and contiguous row-major storage.
///
/// `Tensor` is a value type (copy-on-write through its `[Float]` storage). All heavy math goes through
/// the functions in `Kernels`, which take raw pointers into `data`, so a GPU backend can later replace
/// those functions without touching the layers.
public struct Tensor: Equatable, Sendable {
    /// Sizes of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// Row-major elements; `data.count == shape.reduce(1, *)`.
    public var data: [Float]

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, repeating: 0)
    }

    public init(shape: [Int], repeating value: Float) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape must be non-negative, but is \(shape).")
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "Tensor shape \(shape) holds \(shape.reduce(1, *)) elements, but \(data.count) were given.")
        self.shape = shape
        self.data = data
    }

    /// Number of elements.
    @inlinable public var count: Int { data.count }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Changes the shape in place; the element count must stay the same.
    public mutating func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == data.count,
                     "Cannot reshape \(shape) (\(data.count) elements) to \(newShape).")
        shape = newShape
    }

    /// Sets every element to zero, keeping the storage.
    public mutating func zero() {
        data.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Resizes to `newShape` (reusing storage when the count matches) and zeroes it.
    public mutating func resizeAndZero(_ newShape: [Int]) {
        let n = newShape.reduce(1, *)
        if n == data.count {
            shape = newShape
            zero()
        } else {
            self = Tensor(zeros: newShape)
        }
    }

    @inlinable public subscript(flat index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }

    /// Read access to the storage as a pointer, for kernels.
    @inlinable public func withPointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// Write access to the storage as a pointer, for kernels.
    @inlinable public mutating func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = data.prefix(6).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), data: [\(head)\(data.count > 6 ? ", …" : "")])"
    }
}
