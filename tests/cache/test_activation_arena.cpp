// The activation arena: placement through the device allocator, one host block, views
// for smaller shapes, the three policies, and no allocation at all in steady state.
#include <gtest/gtest.h>

#include "alloc_counter.hpp"
#include "cache_test_util.hpp"
#include "ttt/activation_arena.hpp"
#include "ttt/device.hpp"
#include "ttt/tensor_cache.hpp"

namespace ttt::test {
namespace {

TensorSpec act(std::string name, Shape shape, DataType dtype = DataType::FLOAT32, Layout layout = Layout::ROW_MAJOR,
               MemoryConfig mem = {}) {
  return TensorSpec{std::move(name), shape, dtype, layout, mem};
}

TEST(ActivationArena, ReservesThroughTheAllocatorIntoOneAlignedBlock) {
  auto device = Device::open("ttnn:n150");
  Allocator& alloc = device->allocator();
  const int64_t live0 = alloc.live_allocations();
  const int64_t dram0 = alloc.used_bytes(BufferType::DRAM);
  const int64_t l10 = alloc.used_bytes(BufferType::L1);
  {
    ActivationArena arena(device, CachePolicy::always, "layers.0.attention");
    arena.reserve(act("layers.0.attention.qkv_out", {1, 32, 3 * 96}, DataType::BFLOAT16, Layout::TILE));
    arena.reserve(act("layers.0.attention.scores", {1, 4, 32, 32}, DataType::BFLOAT16, Layout::TILE, kL1Interleaved));
    arena.reserve(act("layers.0.attention.out", {1, 30, 100}, DataType::FLOAT32));
    EXPECT_EQ(alloc.live_allocations(), live0 + 3);
    EXPECT_GT(alloc.used_bytes(BufferType::DRAM), dram0);
    EXPECT_GT(alloc.used_bytes(BufferType::L1), l10);
    EXPECT_EQ(arena.device_bytes(),
              alloc.used_bytes(BufferType::DRAM) - dram0 + alloc.used_bytes(BufferType::L1) - l10);
    arena.commit();
    const Tensor& a = arena.get("layers.0.attention.qkv_out");
    const Tensor& b = arena.get("layers.0.attention.scores");
    const Tensor& c = arena.get("layers.0.attention.out");
    EXPECT_EQ(a.storage(), b.storage());  // one host block
    EXPECT_EQ(b.storage(), c.storage());
    for (const Tensor* t : {&a, &b, &c}) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t->raw()) % 64, 0u);
      EXPECT_EQ(t->device(), device.get());
    }
    EXPECT_GE(b.raw(), a.raw() + a.bytes());  // slices do not overlap
    EXPECT_GE(c.raw(), b.raw() + b.bytes());
    EXPECT_EQ(b.memory_config(), kL1Interleaved);
    EXPECT_EQ(arena.host_bytes(), round_up(a.bytes(), 64) + round_up(b.bytes(), 64) + round_up(c.bytes(), 64));

    // A smaller sequence at run time is a view of the same bytes.
    const Tensor& shorter = arena.get("layers.0.attention.out", {1, 7, 100});
    EXPECT_EQ(shorter.shape(), (Shape{1, 7, 100}));
    EXPECT_EQ(shorter.raw(), c.raw());
    EXPECT_THROW((void)arena.get("layers.0.attention.out", {1, 31, 100}), Error);

    // Reserving after a commit adds a second block.
    arena.reserve(act("layers.0.attention.extra", {4, 4}));
    EXPECT_NE(arena.get("layers.0.attention.extra").storage(), a.storage());
    EXPECT_THROW(arena.reserve(act("layers.0.attention.extra", {4, 4})), Error);

    arena.reset();
    EXPECT_EQ(alloc.live_allocations(), live0);
    EXPECT_EQ(arena.size(), 0u);
    arena.reserve(act("again", {8, 8}));
  }
  // Destruction frees what is still reserved.
  EXPECT_EQ(alloc.live_allocations(), live0);
  EXPECT_EQ(alloc.used_bytes(BufferType::DRAM), dram0);
  EXPECT_EQ(alloc.used_bytes(BufferType::L1), l10);
}

TEST(ActivationArena, L1LimitsAreHonouredPerPolicy) {
  auto device = Device::open("ttnn:n150");
  const int64_t l1_total = device->allocator().free_bytes(BufferType::L1, 0);
  // Two L1 buffers of 60% of L1 each: one fits, both do not.
  const int64_t cols = l1_total * 6 / 10 / 2 / 1024 / 32 * 32;
  const TensorSpec big1 = act("big1", {1024, cols}, DataType::BFLOAT16, Layout::TILE, kL1Interleaved);
  const TensorSpec big2 = act("big2", {1024, cols}, DataType::BFLOAT16, Layout::TILE, kL1Interleaved);
  {
    ActivationArena arena(device, CachePolicy::always, "mlp");
    arena.reserve(big1);
    try {
      arena.reserve(big2);
      FAIL() << "two buffers of 60% of L1 were both placed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::OutOfMemory);
      const std::string msg = e.what();
      EXPECT_NE(msg.find("activation arena 'mlp'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("big2"), std::string::npos) << msg;
    }
    EXPECT_FALSE(arena.contains("big2"));
  }
  {
    ActivationArena arena(device, CachePolicy::auto_, "mlp");
    arena.reserve(big1);
    arena.reserve(big2);  // auto: left to per-call allocation
    EXPECT_TRUE(arena.placed("big1"));
    EXPECT_FALSE(arena.placed("big2"));
    EXPECT_TRUE(arena.contains("big2"));
    try {
      (void)arena.get("big2");
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("allocated per call"), std::string::npos) << e.what();
    }
    arena.reset();
    // Once the other buffer is gone, the per-call allocation fits.
    arena.reserve(act("small", {32, 32}, DataType::BFLOAT16, Layout::TILE, kL1Interleaved));
    EXPECT_EQ(arena.acquire(big2).shape(), big2.shape);
  }
}

TEST(ActivationArena, PoliciesDecideWhatAcquireReturns) {
  auto device = Device::open("cpu");
  Allocator& alloc = device->allocator();
  const TensorSpec x = act("x", {2, 16, 64});

  ActivationArena always(device, CachePolicy::always, "m");
  always.reserve(x);
  const Tensor& r = always.acquire(x);
  EXPECT_EQ(r.raw(), always.get("x").raw());
  EXPECT_EQ(always.acquire(act("x", {1, 16, 64})).raw(), r.raw());  // smaller batch: a view
  EXPECT_THROW((void)always.acquire(act("x", {2, 16, 64}, DataType::BFLOAT16)), Error);
  try {
    (void)always.acquire(act("y", {4}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'y' was not reserved at compile time"), std::string::npos) << e.what();
  }

  ActivationArena never(device, CachePolicy::never, "m");
  const int64_t count0 = alloc.allocation_count();
  never.reserve(x);
  EXPECT_EQ(alloc.allocation_count(), count0);  // never: nothing placed at compile time
  const int64_t live0 = alloc.live_allocations();
  for (int i = 0; i < 3; ++i) {
    const Tensor& t = never.acquire(x);
    EXPECT_EQ(t.shape(), x.shape);
    EXPECT_EQ(alloc.live_allocations(), live0 + 1);  // the previous call's buffer was given back
  }
  EXPECT_EQ(alloc.allocation_count(), count0 + 3);
  never.reset();
  EXPECT_EQ(alloc.live_allocations(), live0);

  // A manager hands out one arena per module; disabling activation caching means never.
  TempDir tmp;
  TensorCacheConfig c = config_in(tmp.path());
  TensorCacheManager m(device, c);
  EXPECT_EQ(&m.activations("layers.0.mlp"), &m.activations("layers.0.mlp"));
  EXPECT_EQ(m.activations("layers.0.mlp", CachePolicy::always).policy(), CachePolicy::auto_);  // made on first use
  c.cache_activations = false;
  TensorCacheManager off(device, c);
  EXPECT_EQ(off.activations("layers.0.mlp", CachePolicy::always).policy(), CachePolicy::never);
}

// The decode loop's contract: after compile, a step allocates nothing, on the device
// allocator or on the heap.
TEST(ActivationArena, SteadyStateLoopAllocatesNothing) {
  auto device = Device::open("ttnn:n150");
  Allocator& alloc = device->allocator();
  ActivationArena arena(device, CachePolicy::auto_, "layers.0");
  // Names longer than any small-string buffer, so a copy would allocate.
  const TensorSpec hidden = act("layers.0.attention.decode.hidden_in", {1, 32, 256});
  const TensorSpec qkv =
      act("layers.0.attention.decode.qkv_matmul_out", {1, 32, 768}, DataType::BFLOAT16, Layout::TILE);
  const TensorSpec scores = act("layers.0.attention.decode.scores", {1, 8, 32, 128});
  const Shape live_scores{1, 8, 32, 96};  // fewer cached positions than reserved
  arena.reserve(hidden);
  arena.reserve(qkv, 0);
  arena.reserve(scores);
  arena.commit();

  auto step = [&](int i) {
    const Tensor& h = arena.acquire(hidden);
    float* hp = h.data<float>();
    for (int64_t j = 0; j < h.shape().volume(); ++j) hp[j] = static_cast<float>(i + j);
    const Tensor& q = arena.get("layers.0.attention.decode.qkv_matmul_out");
    auto* qp = q.data<uint16_t>();
    for (int64_t j = 0; j < q.bytes() / 2; ++j) qp[j] = static_cast<uint16_t>(i);
    const Tensor& s = arena.get("layers.0.attention.decode.scores", live_scores);
    float* sp = s.data<float>();
    for (int64_t j = 0; j < s.shape().volume(); ++j) sp[j] = hp[j % 256];
    return sp[5];
  };
  (void)step(0);  // the first step may make the views it keeps

  const int64_t device_allocs = alloc.allocation_count();
  HeapAllocationScope heap;
  float sink = 0;
  for (int i = 1; i <= 1000; ++i) sink += step(i);
  EXPECT_EQ(heap.count(), 0);
  EXPECT_EQ(alloc.allocation_count(), device_allocs);
  EXPECT_NE(sink, 0.0f);

  // The counters do see allocations: the same loop with per-call buffers allocates.
  ActivationArena per_call(device, CachePolicy::never, "layers.0");
  per_call.reserve(hidden);
  const int64_t before = alloc.allocation_count();
  HeapAllocationScope heap2;
  for (int i = 0; i < 10; ++i) (void)per_call.acquire(hidden);
  EXPECT_EQ(alloc.allocation_count(), before + 10);
  EXPECT_GE(heap2.count(), 10);
}


// Layers run in turn: with share_layers, "layers.N.x" aliases "layers.0.x" (same spec
// and chip) instead of taking memory of its own; other names and other specs do not.
TEST(ActivationArena, LayersShareTheirBuffers) {
  EXPECT_EQ(layer_shared_key("layers.12.attention.qkv_matmul.out@chip1"), "layers.*.attention.qkv_matmul.out@chip1");
  EXPECT_EQ(layer_shared_key("lm_head.lm_head_matmul.out"), "lm_head.lm_head_matmul.out");
  EXPECT_EQ(layer_shared_key("layersx.1.a"), "layersx.1.a");
  auto device = Device::open("ttnn:n150");
  ActivationArena shared(device, CachePolicy::always, "model:decode", true);
  for (int layer = 0; layer < 4; ++layer) {
    shared.reserve(act(fmt::format("layers.{}.mlp.ff1_matmul.out", layer), {1, 32, 256}));
    shared.reserve(act(fmt::format("layers.{}.mlp.ff2_matmul.out", layer), {1, 32, 64 + 32 * layer}));  // own sizes
  }
  shared.reserve(act("norm.out", {1, 32, 256}));
  shared.commit();
  EXPECT_FALSE(shared.aliased("layers.0.mlp.ff1_matmul.out"));
  EXPECT_TRUE(shared.aliased("layers.3.mlp.ff1_matmul.out"));
  EXPECT_FALSE(shared.aliased("layers.3.mlp.ff2_matmul.out"));
  EXPECT_FALSE(shared.aliased("norm.out"));
  const Tensor& a = shared.get("layers.0.mlp.ff1_matmul.out");
  const Tensor& b = shared.get("layers.2.mlp.ff1_matmul.out");
  EXPECT_EQ(a.raw(), b.raw());
  EXPECT_EQ(b.name(), "layers.2.mlp.ff1_matmul.out");
  ActivationArena own(device, CachePolicy::always, "model:decode", false);
  for (int layer = 0; layer < 4; ++layer) {
    own.reserve(act(fmt::format("layers.{}.mlp.ff1_matmul.out", layer), {1, 32, 256}));
    own.reserve(act(fmt::format("layers.{}.mlp.ff2_matmul.out", layer), {1, 32, 64 + 32 * layer}));
  }
  own.reserve(act("norm.out", {1, 32, 256}));
  own.commit();
  EXPECT_LT(shared.device_bytes(), own.device_bytes());
  EXPECT_LT(shared.host_bytes(), own.host_bytes());
  shared.reset();  // frees each real buffer once (the allocator rejects double frees)
  own.reset();
  EXPECT_EQ(device->allocator().used_bytes(BufferType::L1), 0);
  EXPECT_EQ(device->allocator().used_bytes(BufferType::DRAM), 0);
}

}  // namespace
}  // namespace ttt::test
