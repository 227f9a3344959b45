#pragma once
#include <cstdint>
namespace ttt::cli {
// operator new calls in this process so far.
int64_t heap_allocations();
}  // namespace ttt::cli
