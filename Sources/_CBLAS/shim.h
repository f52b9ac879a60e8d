#pragma once
// Debian libopenblas-dev: cblas.h is in /usr/include/x86_64-linux-gnu, on the default search path.
#include <cblas.h>
// OpenBLAS extras (not in every cblas.h): thread count and the kernel it picked, printed beside timings.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
char *openblas_get_config(void);
