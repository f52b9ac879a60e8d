// OpenMPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros for the addresses of predefined globals in
// libmpi (`&ompi_mpi_comm_world`), so dlsym of those globals gives exactly the handle values; MPI_IN_PLACE is
// `(void *) 1`. This ties the code to OpenMPI's ABI (libmpi.so.40, OpenMPI 3.x-4.x), which is what the soname names.
#include "elmo_mpi.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef void *Handle;
typedef int (*InitFn)(int *, char ***);
typedef int (*CommIntFn)(Handle, int *);
typedef int (*AllreduceFn)(const void *, void *, int, Handle, Handle, Handle);
typedef int (*AbortFn)(Handle, int);
typedef int (*FinalizeFn)(void);
typedef int (*InitThreadFn)(int *, char ***, int, int *);
typedef int (*IallreduceFn)(const void *, void *, int, Handle, Handle, Handle, void **);
typedef int (*TestFn)(void **, int *, void *);

static InitFn mpiInit;
static CommIntFn mpiCommRank, mpiCommSize;
static AllreduceFn mpiAllreduce;
static AbortFn mpiAbort;
static FinalizeFn mpiFinalize;
static InitThreadFn mpiInitThread;
static IallreduceFn mpiIallreduce;
static TestFn mpiTest;
static Handle commWorld, floatType, doubleType, sumOp;

#define IN_PLACE ((void *) 1)
#define PIECE (1L << 30)

int elmo_mpi_load(char *message, size_t capacity) {
    // RTLD_GLOBAL: OpenMPI's own plugins (mca_*.so) resolve symbols of libmpi, as with a linked program.
    void *library = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
    if (!library) {
        snprintf(message, capacity, "%s", dlerror());
        return -1;
    }
    struct { const char *name; void **slot; } symbols[] = {
        {"MPI_Init", (void **) &mpiInit}, {"MPI_Comm_rank", (void **) &mpiCommRank},
        {"MPI_Comm_size", (void **) &mpiCommSize}, {"MPI_Allreduce", (void **) &mpiAllreduce},
        {"MPI_Abort", (void **) &mpiAbort}, {"MPI_Finalize", (void **) &mpiFinalize},
        {"ompi_mpi_comm_world", &commWorld}, {"ompi_mpi_float", &floatType},
        {"ompi_mpi_double", &doubleType}, {"ompi_mpi_op_sum", &sumOp},
        {"MPI_Init_thread", (void **) &mpiInitThread}, {"MPI_Iallreduce", (void **) &mpiIallreduce},
        {"MPI_Test", (void **) &mpiTest},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        *symbols[i].slot = dlsym(library, symbols[i].name);
        if (!*symbols[i].slot) {
            snprintf(message, capacity, "libmpi.so.40 has no symbol %s (not OpenMPI 3.x/4.x?)", symbols[i].name);
            return -1;
        }
    }
    return 0;
}

int elmo_mpi_init(void) { return mpiInit(NULL, NULL); }
int elmo_mpi_rank(int *rank) { return mpiCommRank(commWorld, rank); }
int elmo_mpi_size(int *size) { return mpiCommSize(commWorld, size); }

static int allreduce(void *values, long count, size_t elementSize, Handle type) {
    for (long start = 0; start < count; start += PIECE) {
        long n = count - start < PIECE ? count - start : PIECE;
        int status = mpiAllreduce(IN_PLACE, (char *) values + start * elementSize, (int) n, type, sumOp, commWorld);
        if (status != 0) return status;
    }
    return 0;
}

int elmo_mpi_allreduce_sum_float(float *values, long count) { return allreduce(values, count, sizeof(float), floatType); }
int elmo_mpi_allreduce_sum_double(double *values, long count) { return allreduce(values, count, sizeof(double), doubleType); }
int elmo_mpi_abort(int code) { return mpiAbort(commWorld, code); }
int elmo_mpi_finalize(void) { return mpiFinalize(); }

// Collectives for checkpoints and resume, resolved on first use from the already loaded library (elmo_mpi_load
// opened it RTLD_GLOBAL, so RTLD_DEFAULT finds its symbols). -1 when a symbol is missing.
typedef int (*GatherFn)(const void *, int, Handle, void *, int, Handle, int, Handle);
typedef int (*BcastFn)(void *, int, Handle, int, Handle);

#ifndef RTLD_DEFAULT
#define RTLD_DEFAULT ((void *) 0) // glibc's value; dlfcn.h defines it only with _GNU_SOURCE
#endif
static void *resolved(const char *name) { return dlsym(RTLD_DEFAULT, name); }

int elmo_mpi_gather_float(const float *send, int count, float *receive, int root) {
    GatherFn gather = (GatherFn) resolved("MPI_Gather");
    if (!gather || !floatType) return -1;
    return gather(send, count, floatType, receive, count, floatType, root, commWorld);
}

int elmo_mpi_broadcast_bytes(void *bytes, long count, int root) {
    BcastFn bcast = (BcastFn) resolved("MPI_Bcast");
    Handle byteType = resolved("ompi_mpi_byte");
    if (!bcast || !byteType) return -1;
    for (long start = 0; start < count; start += PIECE) {
        long n = count - start < PIECE ? count - start : PIECE;
        int status = bcast((char *) bytes + start, (int) n, byteType, root, commWorld);
        if (status != 0) return status;
    }
    return 0;
}

// MARK: - Gathering every rank's bytes (the ranks-must-agree check before training)

typedef int (*AllgatherFn)(const void *, int, Handle, void *, int, Handle, Handle);
typedef int (*AllgathervFn)(const void *, int, Handle, void *, const int *, const int *, Handle, Handle);

int elmo_mpi_allgather_int(int value, int *values) {
    AllgatherFn allgather = (AllgatherFn) resolved("MPI_Allgather");
    Handle intType = resolved("ompi_mpi_int");
    if (!allgather || !intType) return -1;
    return allgather(&value, 1, intType, values, 1, intType, commWorld);
}

int elmo_mpi_allgatherv_bytes(const void *bytes, int count, void *all, const int *counts, const int *offsets) {
    AllgathervFn allgatherv = (AllgathervFn) resolved("MPI_Allgatherv");
    Handle byteType = resolved("ompi_mpi_byte");
    if (!allgatherv || !byteType) return -1;
    return allgatherv(bytes, count, byteType, all, counts, offsets, byteType, commWorld);
}

// ---- Overlapping the gradient all-reduce with backward (a communication thread; see OverlappingMPIReducer) ----
// MPI_Init_thread, MPI_Iallreduce and MPI_Test are resolved by elmo_mpi_load with the rest.

// MPI_THREAD_SERIALIZED is 2 in OpenMPI's mpi.h (SINGLE 0, FUNNELED 1, SERIALIZED 2, MULTIPLE 3).
// OpenMPI's non-blocking all-reduce (coll/libnbc) picks its binomial algorithm for fewer than 4 ranks and for
// in-place buffers: a reduce to rank 0 followed by a broadcast, so each bucket crosses the link twice, one way at a
// time. The ring sends half of it each way at once, which measured twice as fast over a 1 Gbit/s link with two
// ranks. MCA parameters are read from the environment at init, so this sets the default for this process only,
// and a user's own OMPI_MCA_coll_libnbc_iallreduce_algorithm (or mpirun --mca) still wins.
int elmo_mpi_init_serialized(int *provided) {
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
    return mpiInitThread(NULL, NULL, 2, provided);
}

int elmo_mpi_iallreduce_sum_float(float *values, int count, void **request) {
    return mpiIallreduce(IN_PLACE, values, count, floatType, sumOp, commWorld, request);
}

int elmo_mpi_iallreduce_sum_double(double *values, int count, void **request) {
    return mpiIallreduce(IN_PLACE, values, count, doubleType, sumOp, commWorld, request);
}

// MPI_STATUS_IGNORE is a null pointer in OpenMPI.
int elmo_mpi_test(void **request, int *done) { return mpiTest(request, done, NULL); }
