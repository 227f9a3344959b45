#include <xxhash.h>

#include "ttt/fields.hpp"

namespace ttt {

uint64_t hash_bytes(const void* data, std::size_t size, uint64_t seed) { return XXH3_64bits_withSeed(data, size, seed); }

}  // namespace ttt
