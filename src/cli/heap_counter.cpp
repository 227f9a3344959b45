// Counts heap allocations of the ttt process, so `ttt bench` can report allocations
// per decode step. One relaxed atomic increment per operator new.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "heap_counter.hpp"

// Sanitizer builds keep their own allocator hooks: the count is then unavailable (-1).
#ifndef TTT_NO_HEAP_COUNTER
namespace {
std::atomic<int64_t> g_allocations{0};

void* counted_alloc(std::size_t size, std::size_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (size + align - 1) / align * align)
                                                : std::malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

namespace ttt::cli {
int64_t heap_allocations() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace ttt::cli

void* operator new(std::size_t size) { return counted_alloc(size, 0); }
void* operator new[](std::size_t size) { return counted_alloc(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) { return counted_alloc(size, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted_alloc(size, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#else
namespace ttt::cli {
int64_t heap_allocations() { return -1; }
}  // namespace ttt::cli
#endif
