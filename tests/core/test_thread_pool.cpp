#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <set>
#include <vector>

#include "ttt/thread_pool.hpp"

namespace ttt {
namespace {

TEST(ThreadPool, ParallelForCoversEveryIndexOnce) {
  ThreadPool pool(4);
  for (int64_t n : {1, 3, 7, 64, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPool, GrainAlignsRanges) {
  ThreadPool pool(3);
  std::mutex m;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  pool.parallel_for(
      100, [&](int64_t b, int64_t e, int) {
        std::lock_guard<std::mutex> lock(m);
        ranges.emplace_back(b, e);
      },
      0, 16);
  int64_t covered = 0;
  for (auto [b, e] : ranges) {
    EXPECT_EQ(b % 16, 0);
    covered += e - b;
  }
  EXPECT_EQ(covered, 100);
}

TEST(ThreadPool, RunUsesDistinctThreadIndices) {
  ThreadPool pool(3);
  for (int rep = 0; rep < 200; ++rep) {
    std::atomic<int> mask{0};
    pool.run(0, [&](int t, int n) {
      EXPECT_EQ(n, 3);
      mask.fetch_or(1 << t);
    });
    EXPECT_EQ(mask.load(), 0b111);
  }
}

TEST(ThreadPool, FewerThreadsThanPoolAndSingleThread) {
  ThreadPool pool(4);
  std::atomic<int> count{0};
  pool.run(2, [&](int, int n) {
    EXPECT_EQ(n, 2);
    count.fetch_add(1);
  });
  EXPECT_EQ(count.load(), 2);
  ThreadPool single(1);
  int calls = 0;
  single.parallel_for(10, [&](int64_t b, int64_t e, int) { calls += static_cast<int>(e - b); });
  EXPECT_EQ(calls, 10);
}

}  // namespace
}  // namespace ttt
