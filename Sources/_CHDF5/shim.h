#pragma once
// Debian's serial HDF5 (libhdf5-dev) keeps its headers in /usr/include/hdf5/serial; the full path pins the
// serial build (hdf5.pc is an alternatives link that may point to an MPI build).
#include <hdf5/serial/hdf5.h>
#include <stdio.h>
#include <string.h>

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
static inline hid_t chdf5_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t chdf5_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t chdf5_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t chdf5_p_link_create(void) { return H5P_LINK_CREATE; }

// Error stack: silence HDF5's default printing to stderr, and hand the current stack's descriptions
// (outermost first, one per line) to the caller for its own error message.
static inline void chdf5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
static inline herr_t chdf5_error_walk_(unsigned n, const H5E_error2_t *e, void *data) {
    (void)n;
    char *buf = (char *)data;
    size_t used = strlen(buf);
    if (e->desc && used + 2 < 1024) snprintf(buf + used, 1024 - used, "%s\n", e->desc);
    return 0;
}
/// Fills `buf` (1024 bytes) with the current error stack's descriptions.
static inline void chdf5_error_text(char *buf) {
    buf[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, chdf5_error_walk_, buf);
}

// Frees the strings HDF5 allocated while reading variable-length data (renamed in 1.12).
static inline herr_t chdf5_vlen_reclaim(hid_t type, hid_t space, void *buf) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Treclaim(type, space, H5P_DEFAULT, buf);
#else
    return H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
#endif
}

// Calls `found(path, context)` for every dataset reachable by hard links from `file`, in name order.
// H5Lvisit and H5L_info_t are macros mapped to versioned names from 1.12 on, so the walk lives here.
typedef void (*chdf5_name_callback)(const char *path, void *context);
struct chdf5_visit_context_ { chdf5_name_callback found; void *context; };
static inline herr_t chdf5_visit_link_(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    struct chdf5_visit_context_ *visit = (struct chdf5_visit_context_ *)data;
    if (info->type != H5L_TYPE_HARD) return 0;
    hid_t object = H5Oopen(group, name, H5P_DEFAULT);
    if (object < 0) return 0;
    if (H5Iget_type(object) == H5I_DATASET) visit->found(name, visit->context);
    H5Oclose(object);
    return 0;
}
static inline herr_t chdf5_visit_datasets(hid_t file, chdf5_name_callback found, void *context) {
    struct chdf5_visit_context_ visit = { found, context };
    return H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, chdf5_visit_link_, &visit);
}
