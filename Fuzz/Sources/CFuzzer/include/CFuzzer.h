#pragma once
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (in libclang_rt.fuzzer, linked by -sanitize=fuzzer). SwiftPM links each executable with
// `main` renamed to `<module>_main`, so libFuzzer's own `main` is never used: each target defines that symbol and
// starts the driver itself.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
