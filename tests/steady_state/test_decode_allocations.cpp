// The decode loop allocates nothing once compiled: neither device buffers (through the
// allocator) nor host heap memory. This binary counts every operator new.
#include <gtest/gtest.h>

// Replaces operator new/delete for this binary. Seen in one unit with the code that
// calls them, g++ 12 takes the replacement's free() for a mismatch with new.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#include "../cache/alloc_counter.cpp"
#pragma GCC diagnostic pop
#include "../modules/module_test_util.hpp"
#include "ttt/formats.hpp"
#include "ttt/modules/transformer.hpp"
#include "ttt/profiler.hpp"

namespace ttt {
namespace {

// Decodes `batch` users (prompts of different lengths) and counts allocations over 10
// steps after 3 warm-up steps; with `profile`, every op is timed as `ttt bench --profile`
// does.
void check_no_allocations(const char* device_name, int64_t batch, bool profile) {
  TransformerSpec spec = builtin_spec("tinystories-260k");
  spec.num_layers = 2;
  auto weights = test::random_llama_weights(spec);
  auto device = Device::open(device_name);
  Transformer model(spec, device, {}, weights);
  model.compile_decode(DecodeShape{batch, 64});
  model.compile(PrefillShape{1, 8});
  std::vector<int32_t> ids(static_cast<std::size_t>(batch)), positions(static_cast<std::size_t>(batch));
  for (int64_t u = 0; u < batch; ++u) {
    const std::vector<int32_t> prompt{1, static_cast<int32_t>(5 + u), 9, 33, 2, 7, 11, 12};
    const auto len = static_cast<std::size_t>(3 + u % 6);  // 3..8 tokens
    model.forward_prefill(std::span(prompt).first(len), 1, u);
    ids[static_cast<std::size_t>(u)] = static_cast<int32_t>(3 + u);
    positions[static_cast<std::size_t>(u)] = static_cast<int32_t>(len);
  }
  OpProfiler::enable(profile);
  for (int i = 0; i < 3; ++i) {  // warm up: scratch buffers reach their size
    model.forward_decode(ids, positions);
    for (auto& p : positions) ++p;
  }
  OpProfiler::take();
  const int64_t device_allocs = device->allocator().allocation_count();
  {
    test::HeapAllocationScope heap;
    for (int i = 0; i < 10; ++i) {
      const Tensor& logits = model.forward_decode(ids, positions);
      for (int64_t u = 0; u < batch; ++u) ids[static_cast<std::size_t>(u)] = static_cast<int32_t>((i * 7 + u) % 500);
      for (auto& p : positions) ++p;
      EXPECT_EQ(logits.shape()[1], batch);
    }
    EXPECT_EQ(heap.count(), 0) << "heap allocations in 10 decode steps, batch " << batch << (profile ? ", profiled" : "");
  }
  EXPECT_EQ(device->allocator().allocation_count(), device_allocs) << "device allocations in 10 decode steps";
  if (profile) {
    EXPECT_FALSE(OpProfiler::take().empty()) << "the profiled steps recorded their ops";
  }
  OpProfiler::enable(false);
}

class DecodeSteadyStateOn : public ::testing::TestWithParam<const char*> {};

TEST_P(DecodeSteadyStateOn, NoAllocationsPerDecodeStep) { check_no_allocations(GetParam(), 2, false); }

TEST_P(DecodeSteadyStateOn, NoAllocationsPerDecodeStepAtBatch8) { check_no_allocations(GetParam(), 8, false); }

INSTANTIATE_TEST_SUITE_P(Devices, DecodeSteadyStateOn, ::testing::Values("cpu", "ttnn:n150", "ttnn:t3k"));

// Timing every op (a map keyed by op path) allocates only the first time an op is seen.
TEST(DecodeSteadyState, ProfiledDecodeAllocatesNothing) { check_no_allocations("cpu", 8, true); }

TEST(DecodeSteadyState, PolicyNeverAllocatesPerCallAndComputesTheSame) {
  TransformerSpec spec = builtin_spec("tinystories-260k");
  spec.num_layers = 2;
  auto weights = test::random_llama_weights(spec);
  auto run = [&](CachePolicy policy, int64_t* device_allocs_per_step) {
    auto device = Device::open("cpu");
    ModuleHardwareConfig hw;
    hw.activation_cache_policy = policy;
    Transformer model(spec, device, hw, weights);
    model.compile_decode(DecodeShape{1, 32});
    model.compile(PrefillShape{1, 4});
    const std::vector<int32_t> prompt{1, 5, 9, 33};
    model.forward_prefill(prompt, 1, 0);
    std::vector<float> out;
    const int64_t before = device->allocator().allocation_count();
    for (int32_t i = 0; i < 4; ++i) {
      const int32_t id[1] = {i + 3}, pos[1] = {4 + i};
      const auto logits = to_float(model.forward_decode(id, pos));
      out.insert(out.end(), logits.begin(), logits.end());
    }
    *device_allocs_per_step = (device->allocator().allocation_count() - before) / 4;
    return out;
  };
  int64_t always_allocs = -1, never_allocs = -1;
  const auto a = run(CachePolicy::always, &always_allocs);
  const auto n = run(CachePolicy::never, &never_allocs);
  EXPECT_EQ(a, n) << "the same math whether buffers are kept or made per call";
  EXPECT_EQ(always_allocs, 0);
  EXPECT_GT(never_allocs, 0) << "policy never places its activation buffers on every call";
}

}  // namespace
}  // namespace ttt
