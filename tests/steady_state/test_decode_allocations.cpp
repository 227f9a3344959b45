// The decode loop allocates nothing once compiled: neither device buffers (through the
// allocator) nor host heap memory. This binary counts every operator new.
#include <gtest/gtest.h>

#include "../cache/alloc_counter.cpp"  // replaces operator new/delete for this binary
#include "../modules/module_test_util.hpp"
#include "ttt/formats.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

TEST(DecodeSteadyState, NoAllocationsPerDecodeStepOnCpu) {
  TransformerSpec spec = builtin_spec("tinystories-260k");
  spec.num_layers = 2;
  auto weights = test::random_llama_weights(spec);
  auto device = Device::open("cpu");
  Transformer model(spec, device, {}, weights);
  model.compile_decode(DecodeShape{2, 64});
  model.compile(PrefillShape{1, 8});
  const std::vector<int32_t> prompt_a{1, 5, 9, 33, 2, 7}, prompt_b{1, 11, 12};
  model.forward_prefill(prompt_a, 1, 0);
  model.forward_prefill(prompt_b, 1, 1);
  std::vector<int32_t> ids{3, 4};
  std::vector<int32_t> positions{6, 3};
  for (int i = 0; i < 3; ++i) {  // warm up: scratch buffers reach their size
    model.forward_decode(ids, positions);
    ++positions[0], ++positions[1];
  }
  const int64_t device_allocs = device->allocator().allocation_count();
  test::HeapAllocationScope heap;
  for (int i = 0; i < 10; ++i) {
    const Tensor& logits = model.forward_decode(ids, positions);
    ids[0] = static_cast<int32_t>(i % 500), ids[1] = static_cast<int32_t>((i * 7) % 500);
    ++positions[0], ++positions[1];
    EXPECT_EQ(logits.shape()[1], 2);
  }
  EXPECT_EQ(heap.count(), 0) << "heap allocations in 10 decode steps";
  EXPECT_EQ(device->allocator().allocation_count(), device_allocs) << "device allocations in 10 decode steps";
}

}  // namespace
}  // namespace ttt
