import ElmoTensor
import XCTest

/// All gradients end to end in one buffer, in parameter order, and back.
final class GradientBufferTests: XCTestCase {
    func testGatherLaysGradientsEndToEndAndScatterRestoresThem() {
        let shapes = [[2, 3], [4], [0, 5], [1, 1, 2]]
        let parameters = shapes.enumerated().map { Parameter(name: "p\($0.offset)", value: Tensor(zeros: $0.element)) }
        var next: Float = 1
        for p in parameters {
            for i in 0..<p.gradient.count { p.gradient[flat: i] = next; next += 1 }
        }
        let buffer = GradientBuffer(parameters: parameters)
        XCTAssertEqual(buffer.offsets, [0, 6, 10, 10])
        XCTAssertEqual(buffer.totalCount, 12)
        buffer.gather()
        XCTAssertEqual(buffer.flat.scalars, (1...12).map(Float.init))

        // What a reducer does in between: change the flat buffer; scatter writes each parameter's slice back.
        Backends.current.scale(&buffer.flat, by: 0.5)
        buffer.scatter()
        XCTAssertEqual(parameters[0].gradient.scalars, [0.5, 1, 1.5, 2, 2.5, 3])
        XCTAssertEqual(parameters[1].gradient.scalars, [3.5, 4, 4.5, 5])
        XCTAssertEqual(parameters[2].gradient.scalars, [])
        XCTAssertEqual(parameters[3].gradient.scalars, [5.5, 6])
        XCTAssertEqual(parameters[3].gradient.shape, [1, 1, 2], "shapes stay")
    }
}

/// Buckets: consecutive groups of parameters, gathered and scattered one at a time.
final class GradientBufferBucketTests: XCTestCase {
    func testBucketsAreConsecutiveWindowsAndMoveOneAtATime() {
        let a = Parameter(name: "a", value: Tensor(zeros: [2])), b = Parameter(name: "b", value: Tensor(zeros: [3]))
        let c = Parameter(name: "c", value: Tensor(zeros: [1, 2]))
        for (p, values) in [(a, [1, 2] as [Float]), (b, [3, 4, 5]), (c, [6, 7])] { p.gradient = Tensor(shape: p.gradient.shape, scalars: values) }
        let buffer = GradientBuffer(buckets: [[c], [a, b]])
        XCTAssertEqual(buffer.buckets, [0..<1, 1..<3])
        XCTAssertEqual(buffer.elements(ofBucket: 0), 0..<2)
        XCTAssertEqual(buffer.elements(ofBucket: 1), 2..<7)

        buffer.gather(buffer.buckets[0])
        XCTAssertEqual(buffer.flat.scalars, [6, 7, 0, 0, 0, 0, 0], "only the first bucket moved")
        buffer.gather(buffer.buckets[1])
        XCTAssertEqual(buffer.flat.scalars, [6, 7, 1, 2, 3, 4, 5])
        for i in 0..<7 { buffer.flat[flat: i] *= 10 }
        buffer.scatter(buffer.buckets[1])
        XCTAssertEqual(c.gradient.scalars, [6, 7], "the first bucket was not scattered")
        XCTAssertEqual(a.gradient.scalars, [10, 20])
        XCTAssertEqual(b.gradient.scalars, [30, 40, 50])
    }
}
