// Run-time access to OpenMPI's libmpi.so.40 (dlopen), so that the `elmo` binary builds without mpi.h and starts
// without MPI installed. Only the few calls data-parallel pre-training needs; each returns an MPI error code
// (0 = MPI_SUCCESS) unless said otherwise.
#ifndef ELMO_MPI_H
#define ELMO_MPI_H

#include <stddef.h>

// Loads libmpi.so.40 and resolves the functions and predefined handles used below. Returns 0 on success, else -1
// with a message in `message` (at most `capacity` bytes, NUL-terminated).
int elmo_mpi_load(char *message, size_t capacity);
// MPI_Init(NULL, NULL); the library must be loaded.
int elmo_mpi_init(void);
// MPI_Comm_rank / MPI_Comm_size of MPI_COMM_WORLD.
int elmo_mpi_rank(int *rank);
int elmo_mpi_size(int *size);
// In-place MPI_Allreduce(MPI_SUM) over MPI_COMM_WORLD, in pieces of at most 2^30 elements.
int elmo_mpi_allreduce_sum_float(float *values, long count);
int elmo_mpi_allreduce_sum_double(double *values, long count);
// MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job.
int elmo_mpi_abort(int code);
int elmo_mpi_finalize(void);
// MPI_Gather of `count` floats from every rank into `receive` (count × size floats, rank order) on `root`; other
// ranks may pass NULL for `receive`.
int elmo_mpi_gather_float(const float *send, int count, float *receive, int root);
// MPI_Bcast of `count` bytes from `root` (in pieces of at most 2^30 bytes); every rank passes a buffer of `count`.
int elmo_mpi_broadcast_bytes(void *bytes, long count, int root);

// MPI_Allgather of one int per rank: values[r] is rank r's value (values holds world-size ints). -1 when the
// gather functions are missing from the library.
int elmo_mpi_allgather_int(int value, int *values);
// MPI_Allgatherv of bytes: rank r's `counts[r]` bytes land at `all + offsets[r]` on every rank.
int elmo_mpi_allgatherv_bytes(const void *bytes, int count, void *all, const int *counts, const int *offsets);
// Overlap of the gradient all-reduce with backward: one communication thread makes every MPI call of a training
// step (MPI_THREAD_SERIALIZED), starting non-blocking all-reduces and polling them with MPI_Test, because OpenMPI
// progresses a non-blocking collective only inside MPI calls.
// MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided), instead of elmo_mpi_init.
int elmo_mpi_init_serialized(int *provided);
// In-place MPI_Iallreduce(MPI_SUM) over MPI_COMM_WORLD; *request is an MPI_Request.
int elmo_mpi_iallreduce_sum_float(float *values, int count, void **request);
int elmo_mpi_iallreduce_sum_double(double *values, int count, void **request);
// MPI_Test(request, done, MPI_STATUS_IGNORE).
int elmo_mpi_test(void **request, int *done);

#endif
