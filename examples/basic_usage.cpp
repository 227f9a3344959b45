// The seed's basic usage: an attention module with every default.
//
//   attention = MultiHeadAttentionComplete(spec=AttentionSpec(hidden_dim=4096, num_heads=32),
//                                          device="ttnn:n150")
//
// Construction specializes the module into prefill and decode, resolves a config for
// every op of both (module default for the device, else the device default) and
// validates them all; no weights are given, so nothing is converted. The program prints
// the resolved op configs of each mode with where each came from and its estimated time.
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "ttt/modules/attention.hpp"

namespace {

void print_mode(const ttt::MultiHeadAttention& attention, ttt::Mode mode) {
  fmt::print("{} ops:\n", ttt::to_string(mode));
  for (const ttt::ResolvedOp& op : attention.all_ops(mode)) {
    fmt::print("  {:<13} [{}] {}\n", op.name, ttt::to_string(op.source), op.rule);
    fmt::print("      memory {}, dtype {}, weights {}, {}\n", op.config.memory_config.str(),
               ttt::to_string(op.config.dtype), ttt::field_str(op.config.weights_dtype),
               ttt::to_string(op.config.compute_kernel_config.math_fidelity));
    fmt::print("      kernel {}\n", ttt::field_str(op.config.kernel_config));
    fmt::print("      estimated {}\n", op.cost.str());
  }
}

}  // namespace

int main() {
  try {
    ttt::MultiHeadAttention attention(ttt::AttentionSpec(4096, 32), "ttnn:n150");
    const ttt::AttentionSpec& s = attention.spec();
    fmt::print("MultiHeadAttention on {}: hidden {}, {} heads of {}, {} kv heads, qkv width {}\n",
               attention.device().name(), s.hidden_dim, s.num_heads, s.head_size(), s.kv_heads(), s.qkv_size());
    print_mode(attention, ttt::Mode::prefill);
    print_mode(attention, ttt::Mode::decode);
    // Every op has a config in both modes, and every one of them is a module default.
    for (ttt::Mode mode : ttt::enum_values<ttt::Mode>()) {
      if (attention.ops(mode).size() != 7) return 1;
      for (const auto& op : attention.ops(mode))
        if (op.source != ttt::ConfigSource::module_default) return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
