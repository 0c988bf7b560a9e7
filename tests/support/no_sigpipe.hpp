#pragma once
// Test support: servers in a test process write to sockets the module may already have closed
// (that is what many tests provoke). OpenSSL writes without MSG_NOSIGNAL, so such a write
// raises SIGPIPE, whose default action ends the whole test binary. Blocked on the server's own
// thread (and the threads it starts, which inherit the mask), the write fails with EPIPE
// instead; the test process keeps SIGPIPE as it is everywhere else.

#include <pthread.h>
#include <signal.h>

namespace bg95::test {

inline void block_sigpipe_on_this_thread() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
}

}  // namespace bg95::test
