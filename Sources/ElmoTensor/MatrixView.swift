/// Where a matrix sits inside a tensor's row-major storage: `rows × columns` elements, row r starting at
/// element `offset + r · rowStride`. This is how a backend call names "rows t·B ..< (t+1)·B of the gates" or
/// "filter k's column block of the output" without pointer arithmetic in the layers.
public struct MatrixWindow: Equatable, Sendable {
    public var offset: Int
    public var rows: Int
    public var columns: Int
    public var rowStride: Int

    public init(offset: Int = 0, rows: Int, columns: Int, rowStride: Int? = nil) {
        precondition(offset >= 0 && rows >= 0 && columns >= 0, "MatrixWindow needs offset, rows, columns >= 0, but got \(offset), \(rows), \(columns).")
        self.offset = offset
        self.rows = rows
        self.columns = columns
        self.rowStride = rowStride ?? columns
        precondition(self.rowStride >= columns, "MatrixWindow row stride \(self.rowStride) is below its \(columns) columns.")
    }

    /// Rows `range` of a matrix with `columns` contiguous columns.
    public static func rows(_ range: Range<Int>, columns: Int) -> MatrixWindow {
        MatrixWindow(offset: range.lowerBound * columns, rows: range.count, columns: columns)
    }

    /// Columns `range` of every row of a `[rows, width]` matrix.
    public static func columns(_ range: Range<Int>, rows: Int, width: Int) -> MatrixWindow {
        MatrixWindow(offset: range.lowerBound, rows: rows, columns: range.count, rowStride: width)
    }

    /// Element index of (row, column).
    @inlinable public func index(_ row: Int, _ column: Int) -> Int { offset + row * rowStride + column }

    /// One past the last element the window touches (0 for an empty window).
    public var end: Int { rows == 0 || columns == 0 ? offset : offset + (rows - 1) * rowStride + columns }

    /// Checks that the window lies inside a tensor of `count` elements.
    public func check(inside count: Int, _ label: String) {
        precondition(end <= count, "\(label): window \(rows)×\(columns) at \(offset) (stride \(rowStride)) overruns \(count) elements.")
    }
}

/// A read-only matrix inside a tensor: the tensor (shared, not copied) and the window.
public struct MatrixView: Sendable {
    public let tensor: Tensor
    public let window: MatrixWindow

    public init(_ tensor: Tensor, _ window: MatrixWindow) {
        window.check(inside: tensor.count, "MatrixView")
        self.tensor = tensor
        self.window = window
    }

    public var rows: Int { window.rows }
    public var columns: Int { window.columns }
}

extension Tensor {
    /// The tensor seen as a matrix: all leading dimensions folded into rows, the last one is columns.
    public var matrixShape: (rows: Int, cols: Int) {
        guard let last = shape.last else { return (1, 1) }
        return (last == 0 ? 0 : count / last, last)
    }

    /// The whole tensor as a window (`matrixShape`).
    public var wholeWindow: MatrixWindow {
        let (r, c) = matrixShape
        return MatrixWindow(rows: r, columns: c)
    }

    /// The whole tensor as a matrix view (`matrixShape`).
    public var matrix: MatrixView { MatrixView(self, wholeWindow) }

    /// A view of `window` inside this tensor.
    public func view(_ window: MatrixWindow) -> MatrixView { MatrixView(self, window) }

    /// Rows `range` of the tensor seen as `[count / columns, columns]`.
    public func rowBlock(_ range: Range<Int>, columns: Int) -> MatrixView {
        MatrixView(self, .rows(range, columns: columns))
    }
}

extension MatrixWindow {
    /// Rows `range` of the contiguous matrix that starts at `base.offset` with `columns` columns.
    public static func rows(_ range: Range<Int>, columns: Int, from base: MatrixWindow) -> MatrixWindow {
        MatrixWindow(offset: base.offset + range.lowerBound * base.rowStride, rows: range.count, columns: columns, rowStride: base.rowStride)
    }
}
