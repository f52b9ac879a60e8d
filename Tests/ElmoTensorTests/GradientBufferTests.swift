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
