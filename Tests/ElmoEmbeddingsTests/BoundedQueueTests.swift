import Foundation
import XCTest
@testable import ElmoEmbeddings

final class BoundedQueueTests: XCTestCase {
    func testElementsArriveInOrderAcrossThreadsAndCloseEndsTheStream() {
        let queue = BoundedQueue<Int>(capacity: 2)
        Thread {
            for value in 0..<1000 { try! queue.push(value) }
            queue.close()
        }.start()
        var received: [Int] = []
        while let value = queue.pop() { received.append(value) }
        XCTAssertEqual(received, Array(0..<1000))
        XCTAssertNil(queue.pop())
    }

    func testCancelWakesAProducerWaitingForRoomAndDropsTheQueue() {
        let queue = BoundedQueue<Int>(capacity: 1)
        try! queue.push(1)
        let finished = DispatchSemaphore(value: 0)
        var outcome: Error?
        Thread {
            do { try queue.push(2) } catch { outcome = error }  // waits: the queue is full
            finished.signal()
        }.start()
        queue.cancel()
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        XCTAssertTrue(outcome is QueueCancelled)
        XCTAssertNil(queue.pop())
        XCTAssertThrowsError(try queue.push(3))
    }

    func testCancelWakesAConsumerWaitingForAnElement() {
        let queue = BoundedQueue<Int>(capacity: 1)
        let finished = DispatchSemaphore(value: 0)
        var popped: Int? = 0
        Thread {
            popped = queue.pop()
            finished.signal()
        }.start()
        queue.cancel()
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        XCTAssertNil(popped)
    }

    func testWaitUntilEmptyReturnsOnceTheConsumerTookEverything() {
        let queue = BoundedQueue<Int>(capacity: 1)
        try! queue.push(1)
        let took = DispatchSemaphore(value: 0)
        Thread {
            XCTAssertEqual(queue.pop(), 1)
            took.signal()
        }.start()
        queue.waitUntilEmpty()
        XCTAssertEqual(took.wait(timeout: .now() + 30), .success)
    }
}
