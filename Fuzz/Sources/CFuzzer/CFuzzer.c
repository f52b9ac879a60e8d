// The declarations are in include/CFuzzer.h; the definitions come from libFuzzer.
