#include "ttt/thread_pool.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <vector>

#include "ttt/device.hpp"

namespace ttt {
namespace {

// The CPUs this process may run on, in order.
std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  const int n = std::max(1, threads);
  workers_.reserve(n - 1);
  for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  // Worker i stays on the i-th allowed CPU (when there are enough): left to the scheduler,
  // a worker and the calling thread (thread 0, never pinned) were seen sharing one of two
  // cores for whole runs, halving every op. The caller moves off a pinned worker's core.
  const std::vector<int> cpus = allowed_cpus();
  if (static_cast<int>(cpus.size()) >= n) {
    for (int i = 1; i < n; ++i) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpus[static_cast<std::size_t>(i)], &one);
      pthread_setaffinity_np(workers_[static_cast<std::size_t>(i - 1)].native_handle(), sizeof(one), &one);
    }
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

int ThreadPool::effective_threads(int requested, int64_t work_items) const {
  int t = requested <= 0 || requested > size() ? size() : requested;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(t, work_items)));
}

void ThreadPool::dispatch(Fn fn, void* ctx, int threads) {
  const int n = effective_threads(threads, size());
  if (n == 1) {
    fn(ctx, 0, 1);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = fn;
    ctx_ = ctx;
    active_ = n;
    pending_.store(n - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  fn(ctx, 0, n);
  // Workers finish within microseconds of the caller on balanced work: spin briefly.
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin > 2000) std::this_thread::yield();
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    Fn fn;
    void* ctx;
    int active;
    {
      // Spin a little before sleeping: decode issues many small ops back to back.
      for (int spin = 0; spin < 20000 && generation_.load(std::memory_order_acquire) == seen; ++spin) {
        __builtin_ia32_pause();
      }
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      seen = generation_.load(std::memory_order_acquire);
      if (stop_) return;
      fn = fn_;
      ctx = ctx_;
      active = active_;
    }
    if (index < active) {
      fn(ctx, index, active);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool(host_cpu_spec().grid.count());
  return pool;
}

}  // namespace ttt
