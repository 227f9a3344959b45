// The read probes of `ttt bench`: the weight probe keeps the tensors that stream from
// memory, reads windows that continue where the last one ended, and allocates nothing.
// No rate is asserted, only that one is measured.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/read_bandwidth.hpp"
#include "ttt/error.hpp"
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

TEST(ReadProbe, StepFractionsPairEachStepWithTheReadBeforeIt) {
  // 1 GB per step: 0.1 s is 10 GB/s, 0.05 s 20 GB/s, 0.04 s 25 GB/s.
  const std::vector<double> steps{0.1, 0.05, 0.04};
  const auto paired = bench_detail::step_bandwidth_fractions(steps, std::vector<double>{20.0, 25.0, 50.0}, 1e9);
  EXPECT_DOUBLE_EQ(paired.min, 0.5);     // 10 of 20
  EXPECT_DOUBLE_EQ(paired.median, 0.5);  // 25 of 50
  EXPECT_DOUBLE_EQ(paired.max, 0.8);     // 20 of 25
  // One probe serves every step.
  const auto one = bench_detail::step_bandwidth_fractions(steps, std::vector<double>{25.0}, 1e9);
  EXPECT_DOUBLE_EQ(one.min, 0.4);
  EXPECT_DOUBLE_EQ(one.median, 0.8);
  EXPECT_DOUBLE_EQ(one.max, 1.0);
  EXPECT_EQ(bench_detail::step_bandwidth_fractions({}, std::vector<double>{25.0}, 1e9).median, 0.0);
  try {
    bench_detail::step_bandwidth_fractions(steps, std::vector<double>{20.0, 25.0}, 1e9);
    FAIL() << "two probes for three steps";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 read probes for 3 decode steps"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ttt
