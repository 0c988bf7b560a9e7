#pragma once
// A bounded pool of threads for blocking transfers (cpp-httplib blocks in connect, the TLS
// handshake and every read). Whoever owns the io_context owns the pool (bg95sim's main makes
// one per process, shared by every module of a fleet: `--download-threads`); there is no
// global pool. At most threads() jobs run at once; more wait in a FIFO queue. Threads are made
// as jobs need them, up to the bound, and then stay until the pool is destroyed.
//
// A job that has not started can be withdrawn: it is then destroyed without running. Running
// jobs are never interrupted by the pool; their owner stops them (HttpDownload shuts its
// socket down) and waits for them.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bg95::http {

class WorkerPool {
 public:
  using Job = std::function<void()>;
  using Ticket = std::uint64_t;

  explicit WorkerPool(std::size_t threads);  // at least 1
  // Drops the jobs still queued (destroyed unrun), waits for the running ones, joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job` behind those already waiting (a job must not throw). The ticket names it
  // for withdraw().
  Ticket submit(Job job);
  // Removes the job from the queue if it has not started: true when it was removed (it never
  // runs), false when it has started or finished.
  bool withdraw(Ticket ticket);

  std::size_t threads() const { return max_threads_; }
  std::size_t queued() const;   // jobs waiting for a thread
  std::size_t running() const;  // jobs running now

 private:
  struct Entry {
    Ticket ticket;
    Job job;
  };
  void work();

  const std::size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Entry> queue_;
  std::size_t idle_ = 0;     // threads waiting for a job
  std::size_t running_ = 0;  // jobs being run
  Ticket next_ticket_ = 1;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace bg95::http
