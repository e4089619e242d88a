#ifndef LEAFLENS_GUARDED_COPY_H
#define LEAFLENS_GUARDED_COPY_H

#include <stddef.h>

/// Copies `count` bytes from `source` (typically inside a memory-mapped file) to `destination` and
/// returns 0; returns -1 instead of crashing when reading `source` raises SIGBUS, which is what touching
/// a mapped page past the end of a file that was truncated after it was mapped does.
///
/// A SIGBUS handler is installed on first use. It only acts on faults raised inside a guarded copy on
/// the same thread (the jump target is thread-local); any other SIGBUS gets the previous disposition
/// back and is re-raised by the faulting instruction, so crashes elsewhere still crash.
int leaflens_guarded_copy(void *destination, const void *source, size_t count);

#endif
