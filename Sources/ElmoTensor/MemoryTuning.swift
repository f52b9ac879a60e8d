/// Process-wide allocator settings, applied at the start of every `elmo` command and of `elmo-bench`.
public enum MemoryTuning {
    /// Training steps and embedding batches allocate and free the same large activation buffers again and again. By default glibc serves blocks
    /// over 128 KiB with mmap and returns them with munmap, so every step pays page faults to zero fresh pages
    /// (seen as system time as large as user time). Keeping freed memory in the heap removes that cost; peak RSS
    /// stays about the same because the same sizes are reused.
    public static func keepFreedMemory() {
        #if os(Linux)
        // <malloc.h> parameter numbers (glibc): M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3.
        _ = glibcMallopt(-3, 1 << 30)
        _ = glibcMallopt(-1, Int32.max)
        #endif
    }
}

#if os(Linux)
/// glibc's `mallopt`, declared here because Swift's Glibc module does not import <malloc.h>.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
