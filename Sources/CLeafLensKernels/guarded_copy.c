// A memcpy that survives SIGBUS from a memory-mapped file that shrank under it (see the header).

#define _GNU_SOURCE
#include "leaflens_guarded_copy.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

// volatile: the compiler knows memcpy does not read it, and would otherwise drop the store before the copy
// (the handler that reads it runs "inside" memcpy, which the compiler cannot see).
static _Thread_local sigjmp_buf *volatile active_guard;
static struct sigaction previous_action;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int installed;

static void on_bus_error(int signal_number, siginfo_t *info, void *context) {
    (void)info;
    (void)context;
    sigjmp_buf *guard = active_guard;
    if (guard != NULL) {
        active_guard = NULL;
        siglongjmp(*guard, 1);
    }
    // Not a guarded copy: restore what was there before; returning re-executes the faulting
    // instruction, which now gets the previous (normally the default, fatal) disposition.
    sigaction(signal_number, &previous_action, NULL);
}

static void install_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_bus_error;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    installed = sigaction(SIGBUS, &action, &previous_action) == 0;
}

int leaflens_guarded_copy(void *destination, const void *source, size_t count) {
    if (count == 0) return 0;
    pthread_once(&install_once, install_handler);
    if (!installed) {
        memcpy(destination, source, count);
        return 0;
    }
    sigjmp_buf guard;
    // savemask = 1: the jump restores the signal mask, so SIGBUS is not left blocked.
    if (sigsetjmp(guard, 1) != 0) return -1;
    active_guard = &guard;
    __asm__ volatile("" ::: "memory");  // the copy stays between the two stores
    memcpy(destination, source, count);
    __asm__ volatile("" ::: "memory");
    active_guard = NULL;
    return 0;
}
