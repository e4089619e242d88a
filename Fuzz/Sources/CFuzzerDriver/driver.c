// Declarations only (include/fuzzer_driver.h); libFuzzer itself comes from the toolchain.
