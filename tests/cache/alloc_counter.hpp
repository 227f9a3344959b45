// Counts global operator new calls in a test binary, to assert that a steady-state
// loop allocates nothing on the heap. Linking alloc_counter.cpp into a test binary
// replaces operator new/delete for the whole binary (copy both files to use it in
// another test folder). Allocations that bypass operator new (malloc, aligned_alloc)
// are not counted.
#pragma once

#include <cstdint>

namespace ttt::test {

// operator new calls (every form) in this process so far, all threads.
int64_t heap_allocations();
// operator delete calls with a non-null pointer so far.
int64_t heap_frees();

// Allocations made since construction.
class HeapAllocationScope {
 public:
  HeapAllocationScope() : start_(heap_allocations()) {}
  int64_t count() const { return heap_allocations() - start_; }

 private:
  int64_t start_;
};

}  // namespace ttt::test
