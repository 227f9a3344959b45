// ttt estimate: what the cost model says a model does on a device, without weights:
// time per op and per layer for prefill and decode, time to first token, decode
// tokens/s per user, the bottleneck op and memory per chip.
#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "commands.hpp"
#include "table.hpp"
#include "ttt/error.hpp"
#include "ttt/models/estimate.hpp"
#include "ttt/models/model_config.hpp"

namespace ttt::cli {
namespace {

struct EstimateArgs {
  std::string model, spec, device, hw_config, target;
  EstimateOptions options;
  bool json = false;
};

std::string time_str(double s) {
  if (s >= 1.0) return fmt::format("{:.3f} s", s);
  return s >= 1e-3 ? fmt::format("{:.3f} ms", s * 1e3) : fmt::format("{:.1f} us", s * 1e6);
}

std::string percent(double part, double whole) {
  return whole > 0 ? fmt::format("{:.1f}%", 100.0 * part / whole) : "-";
}

std::string layer_str(const ModeEstimate& m) {
  if (m.layer_s.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(m.layer_s.begin(), m.layer_s.end());
  const double mean = std::accumulate(m.layer_s.begin(), m.layer_s.end(), 0.0) / static_cast<double>(m.layer_s.size());
  if (*hi - *lo <= 1e-3 * *hi) return time_str(mean);
  return fmt::format("{} (mean; {} to {})", time_str(mean), time_str(*lo), time_str(*hi));
}

void print_mode(const ModelEstimate& e, const ModeEstimate& m) {
  const ModuleShapes& s = e.shapes;
  if (m.mode == Mode::prefill)
    fmt::print("prefill: {} user{} x {} tokens\n", s.prefill_batch, s.prefill_batch == 1 ? "" : "s", s.prefill_seq);
  else
    fmt::print("decode: {} user{}, one token each, attending a KV cache of {} positions\n", s.decode_batch,
               s.decode_batch == 1 ? "" : "s", s.cache_len);
  Table t({"op", "calls", "per call", "per step", "share", "bound", "compute", "DRAM", "L1", "collective", "dispatch"});
  for (const OpEstimate& o : m.by_op) {
    const double calls = static_cast<double>(std::max<int64_t>(1, o.calls));
    t.add({o.path, std::to_string(o.calls), time_str(o.time_s() / calls), time_str(o.time_s()),
           percent(o.time_s(), m.step_s), std::string(to_string(o.cost.bound())), time_str(o.cost.compute_s),
           time_str(o.cost.dram_s), time_str(o.cost.l1_s),
           o.cost.collective_s > 0 ? time_str(o.cost.collective_s) : "-", time_str(o.cost.dispatch_s)});
  }
  fmt::print("{}", t.str());
  std::string bounds;
  for (const auto& [b, s] : m.by_bound)
    bounds += fmt::format("{}{} {}", bounds.empty() ? "" : ", ", to_string(b), percent(s, m.step_s));
  fmt::print("{} ops per step, {} per step; per layer {}; time in ops bound by {}\n\n", m.ops, time_str(m.step_s),
             layer_str(m), bounds);
}

std::string gib(int64_t b) { return human_bytes(static_cast<double>(b)); }

void print_summary(const ModelEstimate& e) {
  const MemoryPlan& mem = e.memory;
  const ModuleShapes& s = e.shapes;
  fmt::print("summary: {} on {} ({} chip{}), optimization target {}\n", e.model, e.device, e.chips,
             e.chips == 1 ? "" : "s", to_string(e.target));
  fmt::print("  time to first token   {} (prefill of {} x {} tokens)\n", time_str(e.ttft_s), s.prefill_batch,
             s.prefill_seq);
  fmt::print("  decode                {} per step: {:.1f} tokens/s/user, {:.1f} tokens/s\n", time_str(e.decode.step_s),
             e.decode_tok_s_user, e.decode_tok_s);
  fmt::print("  time per layer        prefill {}, decode {}\n", layer_str(e.prefill), layer_str(e.decode));
  for (const ModeEstimate* m : {&e.prefill, &e.decode}) {
    const OpEstimate& b = m->bottleneck;
    fmt::print("  bottleneck ({})  {}{}: {} per step ({}), {}\n", to_string(m->mode),
               m->mode == Mode::decode ? " " : "", b.path, time_str(b.time_s()), percent(b.time_s(), m->step_s),
               bound_str(b.cost.bound()));
  }
  std::string weights;
  for (const auto& [dt, b] : mem.weights_by_dtype)
    weights += fmt::format("{}{} {}", weights.empty() ? "" : ", ", to_string(dt), gib(b));
  if (e.device == "cpu") {
    // Host RAM is not a hard limit (weights are memory-mapped from the cache) and a core's
    // "L1" is its cache: nothing is placed there.
    fmt::print("  memory                {} of {} host RAM: weights {} ({}), KV cache {}, activation buffers {}\n",
               gib(mem.dram_needed()), gib(mem.dram_per_chip), gib(mem.weights), weights, gib(mem.kv_cache),
               gib(mem.activations_dram));
    return;
  }
  fmt::print("  memory per chip       DRAM {} of {} ({}): weights {} ({}), KV cache {}, activation buffers {}\n",
             gib(mem.dram_needed()), gib(mem.dram_per_chip), mem.fits() ? "fits" : "does not fit", gib(mem.weights),
             weights, gib(mem.kv_cache), gib(mem.activations_dram));
  fmt::print("                        L1 activation buffers {} of {} on the chip's cores{}\n", gib(mem.activations_l1),
             gib(mem.l1_per_chip),
             mem.l1_may_fit() ? ""
                              : ": more than the chip's L1, so compile cannot place them (put decode activations in "
                                "DRAM: `memory: DRAM` on the ops, or optimization_target memory)");
}

int run_estimate(const EstimateArgs& a) {
  TTT_CHECK(a.model.empty() != a.spec.empty(), InvalidConfig, "estimate: pass --model DIR or --spec NAME (one of {})",
            fmt::join(builtin_spec_names(), ", "));
  const TransformerSpec spec = a.model.empty() ? builtin_spec(a.spec) : load_model_spec(a.model);
  ModuleHardwareConfig hw = a.hw_config.empty() ? ModuleHardwareConfig(a.device)
                                                : ModuleHardwareConfig::from_yaml_file(a.hw_config, a.device);
  TTT_CHECK(a.device.empty() || hw.device == a.device, InvalidConfig,
            "{}: the file is for device '{}' (its `device` key) but --device is '{}'; drop one of them", a.hw_config,
            hw.device, a.device);
  TTT_CHECK(!hw.device.empty(), InvalidConfig, "estimate: pass --device (one of {})",
            fmt::join(Device::known_names(), ", "));
  if (!a.target.empty()) hw.optimization_target = parse_enum<OptimizationTarget>(a.target);
  const ModelEstimate e = estimate_model(spec, hw, a.options);
  if (a.json) {
    fmt::print("{}", e.json());
    return 0;
  }
  fmt::print("{} on {} ({} chip{}{}), optimization target {}; estimated by the cost model (no weights)\n\n", e.model,
             e.device, e.chips, e.chips == 1 ? "" : "s",
             e.chips == 1        ? ""
             : e.tensor_parallel ? ", tensor parallel"
                                 : ", replicated: every chip runs the whole model",
             to_string(e.target));
  print_mode(e, e.prefill);
  print_mode(e, e.decode);
  print_summary(e);
  return 0;
}

}  // namespace

void add_estimate_command(CLI::App& app, Runner& runner) {
  auto a = std::make_shared<EstimateArgs>();
  auto* cmd = app.add_subcommand(
      "estimate",
      "Time per op and layer, time to first token, decode tokens/s/user and memory per chip, from the cost "
      "model (no weights)");
  auto* model = cmd->add_option("--model", a->model, "Model directory (its config.json; no weights are read)");
  auto* spec = cmd->add_option("--spec", a->spec,
                               "Builtin model shape: " + fmt::format("{}", fmt::join(builtin_spec_names(), ", ")));
  model->excludes(spec);
  cmd->add_option(
      "--device", a->device,
      fmt::format("{} (default: the hardware config file's device)", fmt::join(Device::known_names(), ", ")));
  cmd->add_option("--batch", a->options.batch, "Users: prefill batch and decode batch (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--prompt-len", a->options.prompt_len, "Prompt tokens per user (default 128)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--gen-len", a->options.gen_len,
                  "Tokens decoded after the prompt; decode is estimated at the last one (default 200)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--hw-config", a->hw_config, "Hardware config overrides (YAML)");
  cmd->add_option("--target", a->target, "Optimization target, over the file's: latency, memory or balanced")
      ->check(CLI::IsMember({"latency", "memory", "balanced"}));
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->callback([a, &runner] { runner = [a] { return run_estimate(*a); }; });
}

}  // namespace ttt::cli
