// A small fork–join pool for LeafLens's parallel loops.
//
// Why not Dispatch: a forward pass opens ~20 parallel regions of a few hundred microseconds each, and
// waking a sleeping Dispatch worker cost 30–45 µs per region on this machine kind (a futex wake-up through
// the hypervisor), 5–8% of a forward. Here the workers spin on a generation counter for a while after each
// region, so the next region starts within a microsecond, and sleep on a condition variable once idle.
//
// Protocol, for one region (generation g):
//   caller: writes task/context/count, resets next/done, publishes g (release), wakes sleepers;
//           claims indices with fetch_add(next) and runs them; then waits until done == count and every
//           worker has acknowledged g — so no worker can still be reading this region's fields when the
//           next region rewrites them.
//   worker: waits for a new generation (spin, then sleep), claims and runs indices the same way, then
//           acknowledges g.
// A call from inside a region (nested) or while another thread's region runs (concurrent) runs inline,
// serially, on the calling thread.
#define _GNU_SOURCE  // sched_getaffinity
#include "leaflens_parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LL_PAUSE() _mm_pause()
#else
#define LL_PAUSE() ((void)0)
#endif

enum { MAX_WORKERS = 63, SPIN_NANOSECONDS = 2000000 };

static struct {
    _Alignas(64) _Atomic unsigned generation;
    _Alignas(64) _Atomic long next;
    _Alignas(64) _Atomic long done;
    _Alignas(64) _Atomic unsigned seen[MAX_WORKERS];  // generation each worker has finished with
    leaflens_task task;
    void *context;
    long count;
    int workers;  // threads besides the caller
    pthread_mutex_t busy;  // one region at a time
    pthread_mutex_t lock;  // guards sleeping
    pthread_cond_t wake;
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static _Thread_local int inside_region;
static pthread_once_t started = PTHREAD_ONCE_INIT;

static long now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

static void run_indices(void) {
    for (long i = atomic_fetch_add(&pool.next, 1); i < pool.count; i = atomic_fetch_add(&pool.next, 1)) {
        pool.task(pool.context, i);
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    }
}

static void *worker_main(void *argument) {
    long index = (long)argument;
    inside_region = 1;  // anything a task starts runs inline
    unsigned seen = 0;
    for (;;) {
        // Spin for a while: regions come every few hundred microseconds during a pass.
        long start = now_nanoseconds();
        unsigned spins = 0;
        while (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen) {
            LL_PAUSE();
            if (++spins % 1024 == 0 && now_nanoseconds() - start > SPIN_NANOSECONDS) {
                pthread_mutex_lock(&pool.lock);
                while (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen)
                    pthread_cond_wait(&pool.wake, &pool.lock);
                pthread_mutex_unlock(&pool.lock);
            }
        }
        seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
        run_indices();
        atomic_store_explicit(&pool.seen[index], seen, memory_order_release);
    }
    return NULL;
}

static void start_workers(void) {
    // The processors this process may run on (taskset, cgroups), as Parallel.workers counts them.
    long processors = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) processors = CPU_COUNT(&allowed);
    int wanted = processors > 1 ? (int)(processors - 1) : 0;
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attributes, 8u << 20);  // the kernels keep ~100 KB of buffers on the stack
    for (int i = 0; i < wanted; i++) {
        pthread_t thread;
        if (pthread_create(&thread, &attributes, worker_main, (void *)(long)i) != 0) break;
        pool.workers = i + 1;
    }
    pthread_attr_destroy(&attributes);
}

int leaflens_parallel_workers(void) {
    pthread_once(&started, start_workers);
    return pool.workers + 1;
}

void leaflens_parallel_for(long count, leaflens_task task, void *context) {
    if (count <= 0) return;
    pthread_once(&started, start_workers);
    if (count == 1 || pool.workers == 0 || inside_region || pthread_mutex_trylock(&pool.busy) != 0) {
        for (long i = 0; i < count; i++) task(context, i);
        return;
    }
    inside_region = 1;
    pool.task = task;
    pool.context = context;
    pool.count = count;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    unsigned generation = atomic_load_explicit(&pool.generation, memory_order_relaxed) + 1;
    pthread_mutex_lock(&pool.lock);  // no sleeper can miss the new generation
    atomic_store_explicit(&pool.generation, generation, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    run_indices();
    while (atomic_load_explicit(&pool.done, memory_order_acquire) < count) LL_PAUSE();
    for (int w = 0; w < pool.workers; w++)
        while (atomic_load_explicit(&pool.seen[w], memory_order_acquire) != generation) LL_PAUSE();
    inside_region = 0;
    pthread_mutex_unlock(&pool.busy);
}
