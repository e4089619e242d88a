#ifndef LEAFLENS_FUZZER_DRIVER_H
#define LEAFLENS_FUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>
/// libFuzzer's entry point for programs with their own main (libclang_rt.fuzzer, LLVM ≥ 11). SwiftPM
/// gives every executable target its own `main`, so each fuzz target calls this from its @main.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
