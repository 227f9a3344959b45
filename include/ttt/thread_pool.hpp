// Persistent worker threads. Ops split their work over them; no thread is created and
// nothing is allocated per call. The calling thread works as thread 0.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace ttt {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // total threads, the caller included
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs f(thread, threads) on `threads` threads (0 or more than size(): all of them).
  template <typename F>
  void run(int threads, F&& f) {
    auto trampoline = [](void* ctx, int t, int n) { (*static_cast<std::remove_reference_t<F>*>(ctx))(t, n); };
    dispatch(trampoline, const_cast<void*>(static_cast<const void*>(&f)), threads);
  }

  // Splits [0, n) into contiguous ranges, one per thread, aligned to `grain`; calls
  // f(begin, end, thread) for each non-empty range.
  template <typename F>
  void parallel_for(int64_t n, F&& f, int threads = 0, int64_t grain = 1) {
    if (n <= 0) return;
    const int use = effective_threads(threads, (n + grain - 1) / grain);
    run(use, [&](int t, int nt) {
      const int64_t blocks = (n + grain - 1) / grain;
      const int64_t b0 = blocks * t / nt, b1 = blocks * (t + 1) / nt;
      const int64_t begin = b0 * grain, end = std::min(n, b1 * grain);
      if (begin < end) f(begin, end, t);
    });
  }

  // The pool sized to the host's cores, created on first use.
  static ThreadPool& global();

 private:
  using Fn = void (*)(void*, int, int);
  int effective_threads(int requested, int64_t work_items) const;
  void dispatch(Fn fn, void* ctx, int threads);
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  int active_ = 0;
  bool stop_ = false;
};

}  // namespace ttt
