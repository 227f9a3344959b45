// The per-device allocator: TTNN's placement rules over per-bank free lists.
//
// Invariants:
// - Every bank of a buffer type has the same address range: DRAM banks [0, dram_per_chip
//   / dram_banks), L1 banks [l1_reserved, l1_per_core), both trimmed to the alignment.
// - Free lists are coalesced: no two free blocks touch.
// - Every size reserved is a multiple of the buffer type's alignment, so every address
//   handed out is aligned.
#include "ttt/allocator.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "ttt/device.hpp"
#include "ttt/error.hpp"
#include "ttt/tensor.hpp"

namespace ttt {

namespace {

// "512 B", "1.50 KiB", "1.43 MiB", "12.00 GiB".
std::string human_bytes(int64_t b) {
  if (b < 1024) return fmt::format("{} B", b);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 3) {
    v /= 1024.0;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, units[u]);
}

std::string bytes_str(int64_t b) { return fmt::format("{} bytes ({})", b, human_bytes(b)); }

int64_t largest_block(const std::map<int64_t, int64_t>& free) {
  int64_t best = 0;
  for (const auto& [start, size] : free) best = std::max(best, size);
  return best;
}

int64_t free_total(const std::map<int64_t, int64_t>& free) {
  int64_t sum = 0;
  for (const auto& [start, size] : free) sum += size;
  return sum;
}

// The lowest address >= `from` where `size` bytes are free in this list, if any.
std::optional<int64_t> first_fit_from(const std::map<int64_t, int64_t>& free, int64_t from, int64_t size) {
  auto it = free.upper_bound(from);
  if (it != free.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second >= from + size) return from;
  }
  for (; it != free.end(); ++it) {
    if (it->second >= size) return it->first;
  }
  return std::nullopt;
}

// Lockstep first fit: the lowest address where `size` bytes are free in every bank of
// `banks`, or -1. Each pass moves the candidate up to the next address some bank can
// take; it stops when all banks agree. The candidate only grows, so this ends.
template <typename BankList>
int64_t lockstep_first_fit(const BankList& list, const std::vector<int>& banks, int64_t size) {
  int64_t cand = 0;
  for (;;) {
    bool moved = false;
    for (int b : banks) {
      const auto at = first_fit_from(list[static_cast<std::size_t>(b)].free, cand, size);
      if (!at) return -1;
      if (*at > cand) {
        cand = *at;
        moved = true;
      }
    }
    if (!moved) return cand;
  }
}

// Carves [addr, addr + size) out of the free block that contains it.
void take_range(std::map<int64_t, int64_t>& free, int64_t addr, int64_t size) {
  auto it = std::prev(free.upper_bound(addr));
  const int64_t start = it->first;
  const int64_t end = start + it->second;
  TTT_DEBUG_ASSERT(start <= addr && addr + size <= end);
  free.erase(it);
  if (start < addr) free.emplace(start, addr - start);
  if (addr + size < end) free.emplace(addr + size, end - (addr + size));
}

// Returns [addr, addr + size) to the free list, merging with its neighbours.
void give_range(std::map<int64_t, int64_t>& free, int64_t addr, int64_t size) {
  int64_t start = addr;
  int64_t end = addr + size;
  auto next = free.lower_bound(addr);
  if (next != free.end() && next->first == end) {
    end += next->second;
    next = free.erase(next);
  }
  if (next != free.begin()) {
    auto prev = std::prev(next);
    TTT_DEBUG_ASSERT(prev->first + prev->second <= addr);
    if (prev->first + prev->second == start) {
      start = prev->first;
      free.erase(prev);
    }
  }
  free.emplace(start, end - start);
}

int64_t alignment_of(const DeviceSpec& s, BufferType t) {
  return t == BufferType::DRAM ? s.dram_alignment : s.l1_alignment;
}

// The core of the shard grid that holds shard `i` (HEIGHT/WIDTH sharding: shards laid
// along the grid in orientation order).
CoreGrid nth_core(const ShardSpec& ss, int64_t i) {
  if (ss.orientation == ShardOrientation::ROW_MAJOR)
    return CoreGrid{static_cast<int>(i % ss.grid.x), static_cast<int>(i / ss.grid.x)};
  return CoreGrid{static_cast<int>(i / ss.grid.y), static_cast<int>(i % ss.grid.y)};
}

}  // namespace

Allocator::Allocator(const DeviceSpec& spec) : spec_(&spec) {
  const int chips = spec.mesh.chips();
  TTT_CHECK(chips >= 1, InvalidConfig, "device '{}': mesh {}x{} has no chips", spec.name, spec.mesh.rows,
            spec.mesh.cols);
  TTT_CHECK(spec.dram_banks >= 1, InvalidConfig, "device '{}': dram_banks is {}; a chip needs at least 1", spec.name,
            spec.dram_banks);
  TTT_CHECK(spec.grid.x >= 1 && spec.grid.y >= 1, InvalidConfig, "device '{}': core grid {} has no cores", spec.name,
            spec.grid.str());
  TTT_CHECK(spec.dram_alignment >= 1 && spec.l1_alignment >= 1, InvalidConfig,
            "device '{}': alignments must be positive (dram_alignment = {}, l1_alignment = {})", spec.name,
            spec.dram_alignment, spec.l1_alignment);
  TTT_CHECK(spec.l1_reserved >= 0 && spec.l1_reserved <= spec.l1_per_core, InvalidConfig,
            "device '{}': l1_reserved {} must lie within l1_per_core {}", spec.name, spec.l1_reserved,
            spec.l1_per_core);
  TTT_CHECK(spec.dram_per_chip >= 0, InvalidConfig, "device '{}': dram_per_chip is negative ({})", spec.name,
            spec.dram_per_chip);

  auto make_banks = [](int n, int64_t begin, int64_t end, int64_t align) {
    const int64_t b = round_up(begin, align);
    const int64_t e = std::max(b, end / align * align);
    Bank bank;
    bank.capacity = e - b;
    if (bank.capacity > 0) bank.free.emplace(b, bank.capacity);
    return std::vector<Bank>(static_cast<std::size_t>(n), bank);
  };
  for (int c = 0; c < chips; ++c) {
    dram_.push_back(make_banks(spec.dram_banks, 0, spec.dram_per_chip / spec.dram_banks, spec.dram_alignment));
    l1_.push_back(make_banks(spec.grid.count(), spec.l1_reserved, spec.l1_per_core, spec.l1_alignment));
  }
}

const std::vector<Allocator::Bank>& Allocator::banks_of(BufferType t, int chip) const {
  TTT_CHECK(chip >= 0 && chip < spec_->mesh.chips(), InvalidConfig,
            "chip {} is out of range: device '{}' has {} chip(s), 0..{}", chip, spec_->name, spec_->mesh.chips(),
            spec_->mesh.chips() - 1);
  return t == BufferType::DRAM ? dram_[static_cast<std::size_t>(chip)] : l1_[static_cast<std::size_t>(chip)];
}

std::vector<Allocator::Bank>& Allocator::banks_of(BufferType t, int chip) {
  return const_cast<std::vector<Bank>&>(std::as_const(*this).banks_of(t, chip));
}

int Allocator::banks(BufferType t) const {
  return t == BufferType::DRAM ? spec_->dram_banks : spec_->grid.count();
}

int64_t Allocator::bank_capacity(BufferType t) const { return banks_of(t, 0).front().capacity; }

std::string Allocator::bank_name(BufferType t, int bank) const {
  TTT_CHECK(bank >= 0 && bank < banks(t), InvalidConfig, "{} bank {} is out of range: device '{}' has {} ({}..{})",
            to_string(t), bank, spec_->name, banks(t), 0, banks(t) - 1);
  if (t == BufferType::DRAM) return fmt::format("DRAM bank {}", bank);
  return fmt::format("L1 bank {} (core {},{})", bank, bank % spec_->grid.x, bank / spec_->grid.x);
}

BankUsage Allocator::usage(BufferType t, int chip, int bank) const {
  const auto& list = banks_of(t, chip);
  (void)bank_name(t, bank);  // range check with the usual message
  const Bank& b = list[static_cast<std::size_t>(bank)];
  return BankUsage{
      .capacity = b.capacity, .used = b.capacity - free_total(b.free), .largest_free = largest_block(b.free)};
}

int64_t Allocator::used_bytes(BufferType t, int chip) const {
  int64_t sum = 0;
  const int first = chip == -1 ? 0 : chip;
  const int last = chip == -1 ? spec_->mesh.chips() - 1 : chip;
  for (int c = first; c <= last; ++c) {
    for (const Bank& b : banks_of(t, c)) sum += b.capacity - free_total(b.free);
  }
  return sum;
}

int64_t Allocator::free_bytes(BufferType t, int chip) const {
  const int chips = chip == -1 ? spec_->mesh.chips() : 1;
  return bank_capacity(t) * banks(t) * chips - used_bytes(t, chip);
}

Allocation Allocator::plan(const TensorSpec& spec) const {
  const MemoryConfig& mem = spec.memory_config;
  const BufferType bt = mem.buffer_type;
  const int64_t align = alignment_of(*spec_, bt);
  const int nbanks = banks(bt);
  // DRAM sharding places one shard per DRAM bank: its grid is banks x 1.
  const CoreGrid device_grid = bt == BufferType::DRAM ? CoreGrid{nbanks, 1} : spec_->grid;
  const ShardLayout sl = check_sharding(spec.shape, spec.dtype, spec.layout, mem, device_grid, spec.name);

  Allocation a;
  a.buffer_type = bt;
  a.address = -1;

  if (!mem.is_sharded()) {
    const Shape padded = spec.padded();
    int64_t page = 0;
    if (spec.layout == Layout::TILE) {
      page = tile_bytes(spec.dtype);
      a.pages = padded.volume() / kTileElems;
    } else {
      page = padded.cols() * element_bytes(spec.dtype);
      a.pages = padded.cols() == 0 ? 0 : padded.rows();
    }
    a.page_bytes = round_up(page, align);
    a.bytes_per_bank = ceil_div(a.pages, nbanks) * a.page_bytes;
    const int64_t touched = std::min<int64_t>(a.pages, nbanks);
    for (int64_t i = 0; i < touched; ++i) a.banks.push_back(static_cast<int>(i));
    return a;
  }

  const ShardSpec& ss = *mem.shard_spec;
  a.pages = sl.cores_used;
  a.page_bytes = round_up(sl.shard_bytes, align);
  a.bytes_per_bank = a.page_bytes;
  // banks[i] holds shard i; shards are numbered row by row over the tensor.
  auto bank_of = [&](const CoreGrid& core) { return core.y * device_grid.x + core.x; };
  if (mem.memory_layout == TensorMemoryLayout::BLOCK_SHARDED) {
    const bool col_major = ss.orientation == ShardOrientation::COL_MAJOR;
    for (int64_t r = 0; r < sl.shards_h; ++r) {
      for (int64_t c = 0; c < sl.shards_w; ++c) {
        const CoreGrid core = col_major ? CoreGrid{static_cast<int>(r), static_cast<int>(c)}
                                        : CoreGrid{static_cast<int>(c), static_cast<int>(r)};
        a.banks.push_back(bank_of(core));
      }
    }
  } else {
    for (int64_t i = 0; i < sl.cores_used; ++i) a.banks.push_back(bank_of(nth_core(ss, i)));
  }
  return a;
}

Allocation Allocator::allocate(const TensorSpec& spec, int chip) {
  auto& list = banks_of(spec.memory_config.buffer_type, chip);
  Allocation a = plan(spec);
  a.chip = chip;
  const BufferType bt = a.buffer_type;

  if (a.bytes_per_bank == 0 || a.banks.empty()) {
    // Nothing to place (an empty tensor): it takes no space.
    a.address = 0;
  } else {
    const int64_t found = lockstep_first_fit(list, a.banks, a.bytes_per_bank);
    if (found < 0) {
      // Name the bank least able to take the request.
      int worst = a.banks.front();
      for (int b : a.banks) {
        if (largest_block(list[static_cast<std::size_t>(b)].free) <
            largest_block(list[static_cast<std::size_t>(worst)].free))
          worst = b;
      }
      const Bank& wb = list[static_cast<std::size_t>(worst)];
      const int64_t wfree = free_total(wb.free);
      const int64_t wlargest = largest_block(wb.free);
      std::string why;
      if (a.bytes_per_bank > wb.capacity) {
        why = "more than the whole bank holds";
      } else if (wlargest >= a.bytes_per_bank) {
        why = fmt::format("each bank has a large enough block, but no address range is free in all {} banks at once",
                          a.banks.size());
      } else if (wfree >= a.bytes_per_bank) {
        why = "enough in total, but fragmented";
      } else {
        why = "not enough free";
      }
      std::string fix;
      if (bt == BufferType::L1 && !spec.memory_config.is_sharded()) {
        fix = "put it in DRAM (buffer_type DRAM), shard it over the cores, or use a smaller batch or sequence";
      } else if (bt == BufferType::L1) {
        fix = "use a wider shard grid (smaller shards), DRAM instead of L1, or a smaller batch or sequence";
      } else {
        fix = "use a smaller batch or sequence, a smaller dtype (e.g. BFLOAT8_B), free other tensors, or a device "
              "with more chips";
      }
      fail(ErrorKind::OutOfMemory,
           "cannot place '{}' ({}) on chip {}: needs {} in {} of chip {}, which has {} free, largest free block {}, "
           "capacity {} ({}); the tensor takes {} per bank in {} bank(s), {} in all; {}",
           spec.name, spec.memory_config.str(), chip, bytes_str(a.bytes_per_bank), bank_name(bt, worst), chip,
           bytes_str(wfree), bytes_str(wlargest), human_bytes(wb.capacity), why, human_bytes(a.bytes_per_bank),
           a.banks.size(), human_bytes(a.total_bytes()), fix);
    }
    a.address = found;
    for (int b : a.banks) take_range(list[static_cast<std::size_t>(b)].free, a.address, a.bytes_per_bank);
  }

  a.id = next_id_++;
  live_.emplace(a.id, a);
  ++allocation_count_;
  return a;
}

void Allocator::deallocate(const Allocation& a) {
  auto it = live_.find(a.id);
  TTT_CHECK(it != live_.end(), InvalidConfig,
            "allocation {} is not live on device '{}' (freed twice, planned only, or from another device)", a.id,
            spec_->name);
  const Allocation& rec = it->second;
  TTT_CHECK(rec.chip == a.chip && rec.address == a.address && rec.buffer_type == a.buffer_type, InvalidConfig,
            "allocation {} does not match the record on device '{}': given {} chip {} address {}, recorded {} chip "
            "{} address {}",
            a.id, spec_->name, to_string(a.buffer_type), a.chip, a.address, to_string(rec.buffer_type), rec.chip,
            rec.address);
  if (rec.bytes_per_bank > 0) {
    auto& list = banks_of(rec.buffer_type, rec.chip);
    for (int b : rec.banks) give_range(list[static_cast<std::size_t>(b)].free, rec.address, rec.bytes_per_bank);
  }
  live_.erase(it);
}

}  // namespace ttt
