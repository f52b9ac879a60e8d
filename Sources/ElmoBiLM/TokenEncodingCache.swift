import ElmoTensor

/// An exact cache of token encodings for inference: AllenNLP's `vocab_to_cache` idea (the char-CNN + highway +
/// projection output of a word type depends only on its characters), bounded and filled as text arrives.
///
/// Each batch encodes each distinct word type it does not find here once (one call of `FrozenTokenEncoder`), and the
/// `capacity` most recently used types are kept across batches (least recently used evicted first). The vectors are
/// bitwise those of encoding every token: the frozen encoder's result for a token does not depend on its batch.
/// Capacity 0 keeps nothing and encodes every token. Not for concurrent use (one per embedding loop).
public final class TokenEncodingCache {
    public let encoder: FrozenTokenEncoder
    public let capacity: Int
    /// Tokens found here, and tokens encoded (distinct types per batch), since creation.
    public private(set) var hits = 0, misses = 0

    /// Slot s holds the encoding of `keys[s]` in row s of `vectors`.
    private var slotOfKey: [[Int32]: Int] = [:]
    private var keys: [[Int32]] = []
    private var vectors: Tensor
    /// The recency list over slots, most recent first (`-1` ends it).
    private var newer: [Int] = [], older: [Int] = []
    private var newest = -1, oldest = -1

    /// 100,000 entries: a large vocabulary's word types (P floats each: 51 MB at P = 128).
    public static let defaultCapacity = 100_000

    public init(encoder: FrozenTokenEncoder, capacity: Int = TokenEncodingCache.defaultCapacity) {
        precondition(capacity >= 0, "TokenEncodingCache capacity must be >= 0, but is \(capacity).")
        self.encoder = encoder
        self.capacity = capacity
        vectors = Tensor(zeros: [0, encoder.outputSize])
    }

    /// Entries held now.
    public var count: Int { keys.count }

    /// chars `[N * W]` → `[N, P]`, bitwise `encoder.encode(chars, tokenCount:)`.
    public func encode(_ chars: [Int32], tokenCount n: Int) -> Tensor {
        let w = encoder.charactersPerToken, p = encoder.outputSize
        precondition(chars.count == n * w, "TokenEncodingCache: \(chars.count) character ids for \(n) tokens of \(w).")
        guard capacity > 0 else {
            misses += n
            return encoder.encode(chars, tokenCount: n)
        }
        let backend = Backends.current
        var y = Tensor(zeros: [n, p])
        // Hits are copied out before any insertion below can evict them.
        var missOfKey: [[Int32]: Int] = [:]
        var missKeys: [[Int32]] = [], missChars: [Int32] = [], missRows: [(row: Int, miss: Int)] = []
        for row in 0..<n {
            let key = Array(chars[row * w..<(row + 1) * w])
            if let slot = slotOfKey[key] {
                hits += 1
                touch(slot)
                backend.copy(vectors.view(.rows(slot..<slot + 1, columns: p)), into: &y, .rows(row..<row + 1, columns: p))
            } else if let miss = missOfKey[key] {
                hits += 1
                missRows.append((row, miss))
            } else {
                missOfKey[key] = missKeys.count
                missRows.append((row, missKeys.count))
                missKeys.append(key)
                missChars.append(contentsOf: key)
            }
        }
        guard !missKeys.isEmpty else { return y }
        misses += missKeys.count
        let encoded = encoder.encode(missChars, tokenCount: missKeys.count)
        for (row, miss) in missRows {
            backend.copy(encoded.view(.rows(miss..<miss + 1, columns: p)), into: &y, .rows(row..<row + 1, columns: p))
        }
        for (miss, key) in missKeys.enumerated() {
            let slot = insert(key)
            backend.copy(encoded.view(.rows(miss..<miss + 1, columns: p)), into: &vectors, .rows(slot..<slot + 1, columns: p))
        }
        return y
    }

    // MARK: - Recency list

    /// A slot for `key`, the newest: a new one while below capacity, else the oldest one's (evicting it).
    private func insert(_ key: [Int32]) -> Int {
        let slot: Int
        if keys.count < capacity {
            slot = keys.count
            keys.append(key)
            newer.append(-1)
            older.append(-1)
            if vectors.matrixShape.rows < keys.count { growVectors() }
        } else {
            slot = oldest
            unlink(slot)
            slotOfKey[keys[slot]] = nil
            keys[slot] = key
        }
        slotOfKey[key] = slot
        linkNewest(slot)
        return slot
    }

    /// Doubles the vector store (up to capacity), so a small text does not allocate the whole capacity.
    private func growVectors() {
        let p = encoder.outputSize, rows = vectors.matrixShape.rows
        var grown = Tensor(zeros: [min(capacity, max(1024, 2 * rows)), p])
        if rows > 0 { Backends.current.copy(vectors.matrix, into: &grown, .rows(0..<rows, columns: p)) }
        vectors = grown
    }

    private func touch(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        linkNewest(slot)
    }

    private func unlink(_ slot: Int) {
        let (n, o) = (newer[slot], older[slot])
        if n >= 0 { older[n] = o } else { newest = o }
        if o >= 0 { newer[o] = n } else { oldest = n }
        (newer[slot], older[slot]) = (-1, -1)
    }

    private func linkNewest(_ slot: Int) {
        older[slot] = newest
        newer[slot] = -1
        if newest >= 0 { newer[newest] = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
