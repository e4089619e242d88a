#ifndef LEAFLENS_PARALLEL_H
#define LEAFLENS_PARALLEL_H

/// One task of a parallel loop: index is in 0 ..< count.
typedef void (*leaflens_task)(void *context, long index);

/// Runs task(context, i) for every i in 0 ..< count on the calling thread and the pool's workers (one per
/// further processor), returning when all have finished. Called from inside a task, or while another
/// thread's loop is running, it runs the tasks inline on the calling thread instead.
void leaflens_parallel_for(long count, leaflens_task task, void *context);

/// Threads that run a parallel loop: the caller plus the pool's workers.
int leaflens_parallel_workers(void);

#endif
