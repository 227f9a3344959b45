// The allocator against TTNN's placement rules, on device specs built here by hand.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "ttt/allocator.hpp"
#include "ttt/device.hpp"
#include "ttt/error.hpp"
#include "ttt/tensor.hpp"

namespace ttt {
namespace {

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * kKiB;
constexpr int64_t kGiB = 1024 * kMiB;

// Wormhole-like figures: 8x8 cores of 1464 KiB L1, 12 GiB of DRAM in 12 banks.
DeviceSpec wormhole_like(int chips = 1, int64_t l1_reserved = 0) {
  DeviceSpec s;
  s.name = "test:wormhole";
  s.arch = Arch::WORMHOLE_B0;
  s.mesh = MeshShape{1, chips};
  s.grid = CoreGrid{8, 8};
  s.l1_per_core = 1464 * kKiB;
  s.l1_reserved = l1_reserved;
  s.dram_per_chip = 12 * kGiB;
  s.dram_banks = 12;
  s.dram_alignment = 32;
  s.l1_alignment = 16;
  return s;
}

// A device small enough to fill by hand: one DRAM bank of 16 KiB, 2x2 cores of 16 KiB.
DeviceSpec tiny() {
  DeviceSpec s = wormhole_like();
  s.name = "test:tiny";
  s.grid = CoreGrid{2, 2};
  s.l1_per_core = 16 * kKiB;
  s.dram_per_chip = 16 * kKiB;
  s.dram_banks = 1;
  return s;
}

TensorSpec tensor(std::string name, Shape shape, MemoryConfig mem = kDramInterleaved,
                  DataType dtype = DataType::BFLOAT16, Layout layout = Layout::TILE) {
  return TensorSpec{std::move(name), shape, dtype, layout, std::move(mem)};
}

// A [32, 32 * n] bfloat16 TILE tensor: n tiles of 2048 bytes.
TensorSpec tiles(std::string name, int64_t n, MemoryConfig mem = kDramInterleaved) {
  return tensor(std::move(name), {32, 32 * n}, std::move(mem));
}

MemoryConfig sharded(TensorMemoryLayout layout, CoreGrid grid, int64_t h, int64_t w,
                     ShardOrientation orientation = ShardOrientation::ROW_MAJOR, BufferType buffer = BufferType::L1) {
  return MemoryConfig{layout, buffer, ShardSpec{grid, {h, w}, orientation}};
}

std::vector<int> range(int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

template <typename F>
std::string error_message(ErrorKind kind, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.detail();
  }
  ADD_FAILURE() << "expected a " << to_string(kind) << " error";
  return {};
}

void expect_contains(const std::string& msg, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
}

TEST(Allocator, BanksAndCapacities) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  EXPECT_EQ(alloc.banks(BufferType::DRAM), 12);
  EXPECT_EQ(alloc.banks(BufferType::L1), 64);
  EXPECT_EQ(alloc.bank_capacity(BufferType::DRAM), 1 * kGiB);
  EXPECT_EQ(alloc.bank_capacity(BufferType::L1), 1464 * kKiB);
  EXPECT_EQ(alloc.used_bytes(BufferType::DRAM), 0);
  EXPECT_EQ(alloc.free_bytes(BufferType::DRAM), 12 * kGiB);
  EXPECT_EQ(alloc.free_bytes(BufferType::L1), 64 * 1464 * kKiB);
  const BankUsage u = alloc.usage(BufferType::L1, 0, 63);
  EXPECT_EQ(u.capacity, 1464 * kKiB);
  EXPECT_EQ(u.used, 0);
  EXPECT_EQ(u.largest_free, 1464 * kKiB);
}

TEST(Allocator, BankNames) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  EXPECT_EQ(alloc.bank_name(BufferType::L1, 5), "L1 bank 5 (core 5,0)");
  EXPECT_EQ(alloc.bank_name(BufferType::L1, 13), "L1 bank 13 (core 5,1)");
  EXPECT_EQ(alloc.bank_name(BufferType::DRAM, 3), "DRAM bank 3");
  auto msg = error_message(ErrorKind::InvalidConfig, [&] { alloc.bank_name(BufferType::DRAM, 12); });
  expect_contains(msg, {"DRAM bank 12 is out of range", "12"});
}

TEST(Allocator, InterleavedTilesRoundRobin) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  // 13 tiles over 12 banks: bank 0 gets tiles 0 and 12, every bank reserves 2 pages.
  const Allocation a = alloc.allocate(tiles("t13", 13));
  EXPECT_EQ(a.buffer_type, BufferType::DRAM);
  EXPECT_EQ(a.address, 0);
  EXPECT_EQ(a.pages, 13);
  EXPECT_EQ(a.page_bytes, 2048);
  EXPECT_EQ(a.bytes_per_bank, 2 * 2048);
  EXPECT_EQ(a.banks, range(12));
  EXPECT_EQ(a.total_bytes(), 12 * 2 * 2048);
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 0, 0).used, 4096);
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 0, 11).used, 4096);
  EXPECT_EQ(alloc.used_bytes(BufferType::DRAM), 12 * 4096);
  EXPECT_EQ(alloc.used_bytes(BufferType::L1), 0);
}

TEST(Allocator, InterleavedBlockFloatPages) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  // 64 bfloat8_b tiles of 1088 bytes (already 32-byte aligned) over 64 L1 banks.
  const Allocation a =
      alloc.allocate(tensor("w", {256, 256}, kL1Interleaved, DataType::BFLOAT8_B, Layout::TILE));
  EXPECT_EQ(a.pages, 64);
  EXPECT_EQ(a.page_bytes, 1088);
  EXPECT_EQ(a.bytes_per_bank, 1088);
  EXPECT_EQ(a.banks, range(64));
}

TEST(Allocator, FewPagesTouchFewBanks) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  const Allocation a = alloc.allocate(tiles("t3", 3));
  EXPECT_EQ(a.banks, range(3));
  EXPECT_EQ(a.bytes_per_bank, 2048);
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 0, 2).used, 2048);
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 0, 3).used, 0);
}

TEST(Allocator, RowMajorPagesAreAlignedRows) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  // A row of 7 bfloat16 is 14 bytes: 32 in DRAM, 16 in L1.
  Allocation a = alloc.plan(tensor("rows", {10, 7}, kDramInterleaved, DataType::BFLOAT16, Layout::ROW_MAJOR));
  EXPECT_EQ(a.pages, 10);
  EXPECT_EQ(a.page_bytes, 32);
  EXPECT_EQ(a.bytes_per_bank, 32);
  EXPECT_EQ(a.banks, range(10));

  a = alloc.plan(tensor("rows", {13, 7}, kDramInterleaved, DataType::BFLOAT16, Layout::ROW_MAJOR));
  EXPECT_EQ(a.pages, 13);
  EXPECT_EQ(a.bytes_per_bank, 2 * 32);
  EXPECT_EQ(a.banks, range(12));

  a = alloc.plan(tensor("rows", {13, 7}, kL1Interleaved, DataType::BFLOAT16, Layout::ROW_MAJOR));
  EXPECT_EQ(a.page_bytes, 16);
  EXPECT_EQ(a.bytes_per_bank, 16);
  EXPECT_EQ(a.banks, range(13));

  // Leading dims fold into rows: [2, 3, 9] float32 is 6 rows of 36 bytes.
  a = alloc.plan(tensor("rows", {2, 3, 9}, kL1Interleaved, DataType::FLOAT32, Layout::ROW_MAJOR));
  EXPECT_EQ(a.pages, 6);
  EXPECT_EQ(a.page_bytes, 48);
}

TEST(Allocator, LockstepAddresses) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  const Allocation a = alloc.allocate(tiles("a", 3));   // banks 0-2 at [0, 2048)
  const Allocation b = alloc.allocate(tiles("b", 12));  // all banks: lowest address free in all
  EXPECT_EQ(a.address, 0);
  EXPECT_EQ(b.address, 2048);
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 0, 5).used, 2048);  // [0, 2048) stays free in bank 5
  const Allocation c = alloc.allocate(tiles("c", 1));   // bank 0 only
  EXPECT_EQ(c.address, 4096);
  EXPECT_EQ(c.banks, std::vector<int>{0});

  alloc.deallocate(a);
  const Allocation d = alloc.allocate(tiles("d", 12));  // [0, 2048) is free in every bank again
  EXPECT_EQ(d.address, 0);
}

TEST(Allocator, FreeCoalescesAndIsReused) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  const int64_t cap = alloc.bank_capacity(BufferType::DRAM);
  const Allocation a = alloc.allocate(tiles("a", 12));
  const Allocation b = alloc.allocate(tiles("b", 12));
  const Allocation c = alloc.allocate(tiles("c", 12));
  EXPECT_EQ(b.address, 2048);
  EXPECT_EQ(c.address, 4096);
  EXPECT_EQ(alloc.live_allocations(), 3);

  alloc.deallocate(b);  // hole [2048, 4096)
  alloc.deallocate(a);  // merges with it into [0, 4096)
  BankUsage u = alloc.usage(BufferType::DRAM, 0, 7);
  EXPECT_EQ(u.used, 2048);
  EXPECT_EQ(u.largest_free, cap - 6144);

  const Allocation d = alloc.allocate(tiles("d", 24));  // 4096 per bank fits the merged hole
  EXPECT_EQ(d.address, 0);
  EXPECT_EQ(d.bytes_per_bank, 4096);

  alloc.deallocate(c);
  alloc.deallocate(d);
  for (int bank = 0; bank < 12; ++bank) {
    u = alloc.usage(BufferType::DRAM, 0, bank);
    EXPECT_EQ(u.used, 0);
    EXPECT_EQ(u.largest_free, cap) << "bank " << bank << " was not coalesced";
  }
  EXPECT_EQ(alloc.live_allocations(), 0);
  EXPECT_EQ(alloc.allocation_count(), 4);
}

TEST(Allocator, FreeMergesWithBothNeighbours) {
  const DeviceSpec spec = tiny();
  Allocator alloc(spec);
  const Allocation a = alloc.allocate(tiles("a", 1));
  const Allocation b = alloc.allocate(tiles("b", 1));
  const Allocation c = alloc.allocate(tiles("c", 1));
  const Allocation rest = alloc.allocate(tiles("rest", 5));
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 0, 0).largest_free, 0);
  alloc.deallocate(a);
  alloc.deallocate(c);
  alloc.deallocate(b);  // joins [0, 2048) and [4096, 6144)
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 0, 0).largest_free, 3 * 2048);
  EXPECT_EQ(alloc.allocate(tiles("e", 3)).address, 0);
  (void)rest;
}

TEST(Allocator, FragmentationIsOutOfMemory) {
  const DeviceSpec spec = tiny();
  Allocator alloc(spec);
  std::vector<Allocation> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(alloc.allocate(tiles("block" + std::to_string(i), 2)));
  EXPECT_EQ(alloc.free_bytes(BufferType::DRAM), 0);
  alloc.deallocate(blocks[0]);
  alloc.deallocate(blocks[2]);
  EXPECT_EQ(alloc.free_bytes(BufferType::DRAM), 8192);
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 0, 0).largest_free, 4096);

  // 6 KiB is free in total but not in one range.
  auto msg = error_message(ErrorKind::OutOfMemory, [&] { alloc.allocate(tiles("kv_cache", 3)); });
  expect_contains(msg, {"'kv_cache'", "DRAM bank 0 of chip 0", "6144 bytes (6.00 KiB)", "8192 bytes (8.00 KiB) free",
                        "largest free block 4096 bytes (4.00 KiB)", "fragmented", "smaller batch"});
  EXPECT_EQ(alloc.allocation_count(), 4);
  EXPECT_EQ(alloc.live_allocations(), 2);

  // Two tiles still fit, in the lowest hole.
  EXPECT_EQ(alloc.allocate(tiles("small", 2)).address, 0);
}

TEST(Allocator, OutOfMemoryInterleavedL1SuggestsDram) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  // 768 tiles per bank over 64 banks: 1.5 MiB per bank, more than 1464 KiB.
  const TensorSpec big = tensor("ff1_matmul output", {32 * 768, 32 * 64}, kL1Interleaved);
  auto msg = error_message(ErrorKind::OutOfMemory, [&] { alloc.allocate(big); });
  expect_contains(msg, {"'ff1_matmul output'", "L1 bank 0 (core 0,0) of chip 0", "1572864 bytes (1.50 MiB)",
                        "1499136 bytes (1.43 MiB) free", "more than the whole bank holds", "DRAM"});
  EXPECT_EQ(alloc.allocation_count(), 0);
  EXPECT_EQ(alloc.used_bytes(BufferType::L1), 0);
}

TEST(Allocator, OutOfMemoryShardedL1SuggestsWiderGrid) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  // One shard of 32x32 tiles: 2 MiB on a single core.
  const TensorSpec t =
      tensor("attn scores", {1024, 1024}, sharded(TensorMemoryLayout::HEIGHT_SHARDED, {1, 1}, 1024, 1024));
  auto msg = error_message(ErrorKind::OutOfMemory, [&] { alloc.allocate(t); });
  expect_contains(msg, {"'attn scores'", "L1 bank 0 (core 0,0) of chip 0", "2097152 bytes (2.00 MiB)",
                        "largest free block", "wider shard grid", "DRAM instead of L1"});

  // Spread over 8 cores, the same tensor fits.
  const Allocation a = alloc.allocate(
      tensor("attn scores", {1024, 1024}, sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 1}, 128, 1024)));
  EXPECT_EQ(a.bytes_per_bank, 256 * kKiB);
  EXPECT_EQ(a.banks, range(8));
}

TEST(Allocator, HeightShardedBanksFollowOrientation) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  Allocation a = alloc.plan(tensor("x", {1024, 64}, sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 4}, 32, 64)));
  EXPECT_EQ(a.pages, 32);
  EXPECT_EQ(a.page_bytes, 2 * 2048);
  EXPECT_EQ(a.bytes_per_bank, 2 * 2048);
  EXPECT_EQ(a.banks, range(32));

  // COL_MAJOR walks down each column of the grid first.
  a = alloc.plan(tensor("x", {1024, 64},
                        sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 4}, 32, 64, ShardOrientation::COL_MAJOR)));
  ASSERT_EQ(a.banks.size(), 32u);
  EXPECT_EQ(std::vector<int>(a.banks.begin(), a.banks.begin() + 6), (std::vector<int>{0, 8, 16, 24, 1, 9}));
  EXPECT_EQ(a.banks.back(), 31);

  // Bank numbers use the device grid's width, not the shard grid's.
  a = alloc.plan(tensor("x", {256, 64}, sharded(TensorMemoryLayout::HEIGHT_SHARDED, {4, 2}, 32, 64)));
  EXPECT_EQ(a.banks, (std::vector<int>{0, 1, 2, 3, 8, 9, 10, 11}));
}

TEST(Allocator, BlockShardedBanks) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  // Shards (row, col): ROW_MAJOR puts shard (r, c) on core (c, r).
  Allocation a = alloc.plan(tensor("x", {64, 64}, sharded(TensorMemoryLayout::BLOCK_SHARDED, {2, 2}, 32, 32)));
  EXPECT_EQ(a.banks, (std::vector<int>{0, 1, 8, 9}));
  EXPECT_EQ(a.pages, 4);
  EXPECT_EQ(a.bytes_per_bank, 2048);
  a = alloc.plan(tensor("x", {64, 64},
                        sharded(TensorMemoryLayout::BLOCK_SHARDED, {2, 2}, 32, 32, ShardOrientation::COL_MAJOR)));
  EXPECT_EQ(a.banks, (std::vector<int>{0, 8, 1, 9}));
}

TEST(Allocator, ShardBytesAreAligned) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  // ROW_MAJOR shards of 3x1 float32: 12 bytes, 16 in L1, 32 in DRAM.
  Allocation a = alloc.plan(tensor("x", {12, 1}, sharded(TensorMemoryLayout::HEIGHT_SHARDED, {4, 1}, 3, 1),
                                   DataType::FLOAT32, Layout::ROW_MAJOR));
  EXPECT_EQ(a.pages, 4);
  EXPECT_EQ(a.page_bytes, 16);
  EXPECT_EQ(a.bytes_per_bank, 16);
  a = alloc.plan(tensor("x", {12, 1},
                        sharded(TensorMemoryLayout::HEIGHT_SHARDED, {4, 1}, 3, 1, ShardOrientation::ROW_MAJOR,
                                BufferType::DRAM),
                        DataType::FLOAT32, Layout::ROW_MAJOR));
  EXPECT_EQ(a.page_bytes, 32);
}

TEST(Allocator, DramShardedOneShardPerBank) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  const Allocation a = alloc.allocate(tensor(
      "w", {32, 1536},
      sharded(TensorMemoryLayout::WIDTH_SHARDED, {12, 1}, 32, 128, ShardOrientation::ROW_MAJOR, BufferType::DRAM)));
  EXPECT_EQ(a.buffer_type, BufferType::DRAM);
  EXPECT_EQ(a.banks, range(12));
  EXPECT_EQ(a.bytes_per_bank, 4 * 2048);
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 0, 11).used, 4 * 2048);

  const Allocation b = alloc.allocate(tensor(
      "w2", {32, 768},
      sharded(TensorMemoryLayout::WIDTH_SHARDED, {6, 1}, 32, 128, ShardOrientation::ROW_MAJOR, BufferType::DRAM)));
  EXPECT_EQ(b.banks, range(6));
  EXPECT_EQ(b.address, 4 * 2048);

  // The grid counts DRAM banks: 13 do not exist.
  auto msg = error_message(ErrorKind::InvalidConfig, [&] {
    alloc.allocate(tensor("w3", {32, 1664},
                          sharded(TensorMemoryLayout::WIDTH_SHARDED, {13, 1}, 32, 128, ShardOrientation::ROW_MAJOR,
                                  BufferType::DRAM)));
  });
  expect_contains(msg, {"w3", "12 DRAM banks", "memory_config.shard_spec.grid = 13x1"});
}

TEST(Allocator, UsageUsedAndFreeBytes) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  const int64_t l1_total = 64 * alloc.bank_capacity(BufferType::L1);
  const Allocation a = alloc.allocate(tiles("a", 100, kL1Interleaved));  // 2 pages per bank
  EXPECT_EQ(a.bytes_per_bank, 2 * 2048);
  EXPECT_EQ(alloc.used_bytes(BufferType::L1), 64 * 4096);
  EXPECT_EQ(alloc.used_bytes(BufferType::L1, 0), 64 * 4096);
  EXPECT_EQ(alloc.free_bytes(BufferType::L1), l1_total - 64 * 4096);
  EXPECT_EQ(alloc.free_bytes(BufferType::L1, 0), l1_total - 64 * 4096);
  const BankUsage u = alloc.usage(BufferType::L1, 0, 40);
  EXPECT_EQ(u.used, 4096);
  EXPECT_EQ(u.largest_free, u.capacity - 4096);
  alloc.deallocate(a);
  EXPECT_EQ(alloc.free_bytes(BufferType::L1), l1_total);
}

TEST(Allocator, ReservedL1IsNotHandedOut) {
  const DeviceSpec spec = wormhole_like(1, 100 * kKiB);
  Allocator alloc(spec);
  EXPECT_EQ(alloc.bank_capacity(BufferType::L1), 1364 * kKiB);
  EXPECT_EQ(alloc.usage(BufferType::L1, 0, 0).capacity, 1364 * kKiB);
  const Allocation a = alloc.allocate(tiles("a", 64, kL1Interleaved));
  EXPECT_EQ(a.address, 100 * kKiB);
  // DRAM is not affected.
  EXPECT_EQ(alloc.allocate(tiles("b", 12)).address, 0);
}

TEST(Allocator, ChipsAreIndependent) {
  const DeviceSpec spec = wormhole_like(2);
  Allocator alloc(spec);
  const Allocation a = alloc.allocate(tiles("a", 24), 1);
  EXPECT_EQ(a.chip, 1);
  EXPECT_EQ(a.address, 0);
  EXPECT_EQ(alloc.used_bytes(BufferType::DRAM, 0), 0);
  EXPECT_EQ(alloc.used_bytes(BufferType::DRAM, 1), 12 * 4096);
  const Allocation b = alloc.allocate(tiles("b", 12), 0);
  EXPECT_EQ(b.address, 0);  // chip 0's banks are untouched by chip 1's tensor
  EXPECT_EQ(alloc.used_bytes(BufferType::DRAM), 12 * 4096 + 12 * 2048);
  EXPECT_EQ(alloc.free_bytes(BufferType::DRAM), 2 * 12 * kGiB - (12 * 4096 + 12 * 2048));
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 1, 0).used, 4096);
  EXPECT_EQ(alloc.usage(BufferType::DRAM, 0, 0).used, 2048);

  alloc.deallocate(a);
  EXPECT_EQ(alloc.used_bytes(BufferType::DRAM, 1), 0);
  EXPECT_EQ(alloc.used_bytes(BufferType::DRAM, 0), 12 * 2048);

  auto msg = error_message(ErrorKind::InvalidConfig, [&] { alloc.allocate(tiles("c", 1), 2); });
  expect_contains(msg, {"chip 2 is out of range", "2 chip(s)"});
  error_message(ErrorKind::InvalidConfig, [&] { alloc.usage(BufferType::DRAM, -1, 0); });
  error_message(ErrorKind::InvalidConfig, [&] { alloc.used_bytes(BufferType::L1, 5); });
  EXPECT_EQ(alloc.allocation_count(), 2);
}

TEST(Allocator, PlanDoesNotReserve) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  const Allocation p = alloc.plan(tiles("p", 13));
  EXPECT_EQ(p.address, -1);
  EXPECT_EQ(p.bytes_per_bank, 4096);
  EXPECT_EQ(p.banks, range(12));
  EXPECT_EQ(alloc.used_bytes(BufferType::DRAM), 0);
  EXPECT_EQ(alloc.allocation_count(), 0);
  EXPECT_EQ(alloc.live_allocations(), 0);

  // A plan is not a live allocation.
  error_message(ErrorKind::InvalidConfig, [&] { alloc.deallocate(p); });

  // The same tensor allocated gets the same figures and an address.
  const Allocation a = alloc.allocate(tiles("p", 13));
  EXPECT_EQ(a.address, 0);
  EXPECT_EQ(a.bytes_per_bank, p.bytes_per_bank);
  EXPECT_EQ(a.banks, p.banks);
}

TEST(Allocator, InvalidShardingIsCheckedFirst) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  const TensorSpec bad =
      tensor("qkv_matmul output", {256, 256}, sharded(TensorMemoryLayout::HEIGHT_SHARDED, {8, 1}, 32, 80));
  auto msg = error_message(ErrorKind::InvalidConfig, [&] { alloc.plan(bad); });
  expect_contains(msg, {"qkv_matmul output", "shard width 80 is not a multiple of the tile width 32",
                        "memory_config.shard_spec.shape[1] = 80", "use 64 or 96"});
  error_message(ErrorKind::InvalidConfig, [&] { alloc.allocate(bad); });
  EXPECT_EQ(alloc.allocation_count(), 0);
}

TEST(Allocator, DoubleFreeIsAnError) {
  const DeviceSpec spec = wormhole_like();
  Allocator alloc(spec);
  const Allocation a = alloc.allocate(tiles("a", 1));
  alloc.deallocate(a);
  auto msg = error_message(ErrorKind::InvalidConfig, [&] { alloc.deallocate(a); });
  expect_contains(msg, {"is not live"});
}

TEST(Allocator, CpuLikeSpec) {
  // The host: DRAM is one bank, L1 stands for each core's L2.
  DeviceSpec spec;
  spec.name = "test:cpu";
  spec.arch = Arch::CPU;
  spec.grid = CoreGrid{2, 1};
  spec.l1_per_core = 2 * kMiB;
  spec.dram_per_chip = 8 * kGiB;
  spec.dram_banks = 1;
  Allocator alloc(spec);
  EXPECT_EQ(alloc.banks(BufferType::DRAM), 1);
  EXPECT_EQ(alloc.banks(BufferType::L1), 2);

  const Allocation d = alloc.allocate(tiles("d", 13));
  EXPECT_EQ(d.banks, std::vector<int>{0});
  EXPECT_EQ(d.bytes_per_bank, 13 * 2048);

  const Allocation l = alloc.allocate(tiles("l", 13, kL1Interleaved));
  EXPECT_EQ(l.banks, range(2));
  EXPECT_EQ(l.bytes_per_bank, 7 * 2048);

  const Allocation s =
      alloc.allocate(tensor("s", {64, 64}, sharded(TensorMemoryLayout::HEIGHT_SHARDED, {2, 1}, 32, 64)));
  EXPECT_EQ(s.banks, range(2));
  EXPECT_EQ(s.address, 7 * 2048);
  EXPECT_EQ(alloc.bank_name(BufferType::L1, 1), "L1 bank 1 (core 1,0)");
}

}  // namespace
}  // namespace ttt
