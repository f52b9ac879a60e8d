import Foundation

/// A first-in first-out hand-over between two threads that holds at most `capacity` elements: the producer waits
/// while it is full, so a fast stage cannot run ahead and fill memory. Either side can stop the other: the producer
/// `close`s it (the consumer gets nil once it is drained), and `cancel` (from either side, on failure) makes every
/// waiting and later `push` throw and `pop` return nil at once.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let capacity: Int
    private var elements: [Element] = []
    private var head = 0
    private var closed = false
    private var cancelled = false
    private let condition = NSCondition()

    init(capacity: Int) {
        precondition(capacity >= 1, "BoundedQueue: capacity must be >= 1, not \(capacity).")
        self.capacity = capacity
    }

    /// Waits for room; throws `QueueCancelled` once the queue is cancelled.
    func push(_ element: Element) throws {
        condition.lock()
        defer { condition.unlock() }
        while elements.count - head >= capacity && !cancelled { condition.wait() }
        if cancelled { throw QueueCancelled() }
        precondition(!closed, "BoundedQueue.push after close.")
        elements.append(element)
        condition.broadcast()
    }

    /// The next element, waiting for one; nil once the queue is closed and drained, or cancelled.
    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while elements.count == head && !closed && !cancelled { condition.wait() }
        if cancelled || elements.count == head { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        }
        condition.broadcast()
        return element
    }

    /// Waits until the consumer has taken every element (or the queue is cancelled). A producer that calls this
    /// before making its next element keeps at most one element queued and one in the consumer's hands.
    func waitUntilEmpty() {
        condition.lock()
        defer { condition.unlock() }
        while elements.count > head && !cancelled { condition.wait() }
    }

    /// No more elements will come.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Whether `cancel` was called (so a nil from `pop` does not mean the end of the stream).
    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Stops both sides: elements still queued are dropped.
    func cancel() {
        condition.lock()
        cancelled = true
        elements.removeAll()
        head = 0
        condition.broadcast()
        condition.unlock()
    }
}

/// What `BoundedQueue.push` throws once the queue is cancelled.
struct QueueCancelled: Error {}
