// The read probes of `ttt bench`: the weight probe keeps the tensors that stream from
// memory, reads windows that continue where the last one ended, and allocates nothing.
// No rate is asserted, only that one is measured.
#include <gtest/gtest.h>

#include "models/read_bandwidth.hpp"
#include "ttt/models/benchmark.hpp"

namespace ttt {
namespace {

Tensor bytes_tensor(const char* name, int64_t bytes) {
  Tensor t = Tensor::empty({name, Shape{bytes / 4}, DataType::FLOAT32, Layout::ROW_MAJOR, {}});
  std::fill_n(t.data<float>(), bytes / 4, 1.0f);
  return t;
}

TEST(ReadProbe, KeepsTensorsOfAtLeastOneMebibyte) {
  bench_detail::WeightReadProbe probe;
  EXPECT_EQ(probe.measure(ThreadPool::global(), 1 << 20), 0.0);  // nothing to read
  probe.add(bytes_tensor("norm", 512 << 10));
  EXPECT_EQ(probe.bytes(), 0u);
  probe.add(bytes_tensor("w1", 1 << 20));
  probe.add(bytes_tensor("w2", 3 << 20));
  EXPECT_EQ(probe.bytes(), std::size_t{4} << 20);
  // Windows larger than half the bytes are cut to half; reads wrap around the tensors.
  for (int i = 0; i < 6; ++i) EXPECT_GT(probe.measure(ThreadPool::global(), 8 << 20, i % 2 + 1), 0.0);
}

TEST(ReadProbe, TimedReadOfABufferWithEveryStreamCount) {
  Tensor t = bytes_tensor("buf", 2 << 20);
  for (int streams : {1, 4}) EXPECT_GT(bench_detail::timed_read(ThreadPool::global(), t.raw(), 2 << 20, 0, streams), 0.0);
  EXPECT_GT(measure_read_bandwidth_gbps(1, 4 << 20), 0.0);
}

}  // namespace
}  // namespace ttt
