#include "protocol/http/worker_pool.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <utility>

namespace bg95::http {

WorkerPool::WorkerPool(std::size_t threads) : max_threads_(std::max<std::size_t>(threads, 1)) {}

WorkerPool::~WorkerPool() {
  std::deque<Entry> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
    cv_.notify_all();
  }
  dropped.clear();  // outside the lock: a job's captures may do anything when destroyed
  for (auto& t : threads_)
    t.join();
}

WorkerPool::Ticket WorkerPool::submit(Job job) {
  std::lock_guard lock(mutex_);
  const Ticket ticket = next_ticket_++;
  queue_.push_back({ticket, std::move(job)});
  // Jobs queued beyond the idle threads get a new thread while the bound allows.
  if (queue_.size() > idle_ && threads_.size() < max_threads_)
    threads_.emplace_back([this] { work(); });
  cv_.notify_one();
  return ticket;
}

bool WorkerPool::withdraw(Ticket ticket) {
  Job job;  // destroyed after the lock is released
  std::lock_guard lock(mutex_);
  const auto it = std::find_if(queue_.begin(), queue_.end(),
                               [ticket](const Entry& e) { return e.ticket == ticket; });
  if (it == queue_.end()) return false;
  job = std::move(it->job);
  queue_.erase(it);
  return true;
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t WorkerPool::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

void WorkerPool::work() {
  // A write to a socket the server closed must fail with EPIPE, not kill the process
  // (OpenSSL writes without MSG_NOSIGNAL). The mask is this thread's only.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);

  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) return;
    Job job = std::move(queue_.front().job);
    queue_.pop_front();
    ++running_;
    lock.unlock();
    job();
    job = nullptr;  // its captures go before the next job is taken
    lock.lock();
    --running_;
  }
}

}  // namespace bg95::http
