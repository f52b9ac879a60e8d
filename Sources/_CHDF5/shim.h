#pragma once
// Debian's serial HDF5 (libhdf5-dev) keeps its headers in /usr/include/hdf5/serial; the full path pins the
// serial build (hdf5.pc is an alternatives link that may point to an MPI build).
#include <hdf5/serial/hdf5.h>

// Macros such as H5T_NATIVE_FLOAT expand to `(H5open(), H5T_NATIVE_FLOAT_g)`, which Swift cannot import;
// each inline function below evaluates the real macro.
static inline hid_t chdf5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t chdf5_native_ushort(void) { return H5T_NATIVE_USHORT; }
static inline hid_t chdf5_ieee_f16le(void) {
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(t, 15, 10, 5, 0, 10);
    H5Tset_size(t, 2);
    H5Tset_ebias(t, 15);
    return t;
}
static inline hid_t chdf5_c_s1(void) { return H5T_C_S1; }
static inline hid_t chdf5_p_default(void) { return H5P_DEFAULT; }
static inline hid_t chdf5_s_all(void) { return H5S_ALL; }
static inline hid_t chdf5_p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline unsigned chdf5_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned chdf5_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline size_t chdf5_variable(void) { return H5T_VARIABLE; }
