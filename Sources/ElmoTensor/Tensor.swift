/// A dense Float32 tensor: a shape and contiguous row-major storage.
///
/// `Tensor` is a value type (copy-on-write). Its storage is private to this module: values come in through
/// `init(shape:scalars:)` (or the element subscript) and go out through `scalars` or `copy(to:)`, so a tensor's
/// element count can never drift from its shape. All math on tensors goes through a `Backend`
/// (`Backends.current`), which is the only code that touches the storage in bulk.
public struct Tensor: Equatable, Sendable {
    /// Sizes of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// Row-major elements; `storage.count == shape.reduce(1, *)` always.
    @usableFromInline var storage: [Float]

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, repeating: 0)
    }

    public init(shape: [Int], repeating value: Float) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape must be non-negative, but is \(shape).")
        self.shape = shape
        self.storage = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// Copies `scalars` (row-major) into a new tensor of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape must be non-negative, but is \(shape).")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor shape \(shape) holds \(shape.reduce(1, *)) elements, but \(scalars.count) were given.")
        self.shape = shape
        self.storage = scalars
    }

    /// Number of elements.
    @inlinable public var count: Int { storage.count }

    /// The elements, row-major (a copy-out; cheap, the array shares storage until either side is written).
    public var scalars: [Float] { storage }

    /// Copies the elements, row-major, into `buffer`, which must hold exactly `count` elements.
    public func copy(to buffer: UnsafeMutableBufferPointer<Float>) {
        precondition(buffer.count == count, "copy(to:) got a buffer of \(buffer.count) elements for a tensor of \(count).")
        _ = buffer.update(fromContentsOf: storage)
    }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: storage)
    }

    /// Changes the shape in place; the element count must stay the same.
    public mutating func reshape(_ newShape: [Int]) {
        precondition(newShape.allSatisfy { $0 >= 0 } && newShape.reduce(1, *) == storage.count,
                     "Cannot reshape \(shape) (\(storage.count) elements) to \(newShape).")
        shape = newShape
    }

    /// Sets every element to zero, keeping the storage.
    public mutating func zero() {
        storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Resizes to `newShape` (reusing storage when the count matches) and zeroes it.
    public mutating func resizeAndZero(_ newShape: [Int]) {
        let n = newShape.reduce(1, *)
        if n == storage.count {
            shape = newShape
            zero()
        } else {
            self = Tensor(zeros: newShape)
        }
    }

    /// One element by its row-major index (for I/O and tests; math goes through the backend).
    @inlinable public subscript(flat index: Int) -> Float {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// Read access to the storage as a pointer: for backends and the package's own I/O code.
    @inlinable package func withPointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// Write access to the storage as a pointer (its length cannot change): for backends and the package's I/O code.
    @inlinable package mutating func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = storage.prefix(6).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), scalars: [\(head)\(storage.count > 6 ? ", …" : "")])"
    }
}
