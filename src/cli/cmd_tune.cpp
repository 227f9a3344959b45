// ttt tune: the auto-tuner. Searches op by op for the fastest (or smallest) configs that
// keep the model's logits within --min-pcc of the reference, writes them as a hardware
// config file, and reports the default, start and tuned configs measured in one run.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "commands.hpp"
#include "table.hpp"
#include "ttt/error.hpp"
#include "ttt/models/model_config.hpp"
#include "ttt/models/safetensors.hpp"
#include "ttt/tune.hpp"

namespace ttt::cli {
namespace {

struct TuneArgs {
  std::string model, spec, device = "cpu", mode = "decode", target = "latency", output, hw_config, cache_dir;
  std::vector<std::string> ops;
  double min_pcc = 0.99, budget_s = 0, min_share = 0.005;
  int64_t layers = 1, tokens = 4, batch = 0, seq_len = 0, eval_layers = 0;
  int timing_steps = 7, rounds = 5;
  bool no_cache = false, no_report = false, quiet = false, verbose = false;
};

std::string time_str(double s) {
  return s >= 1e-3 ? fmt::format("{:.3f} ms", s * 1e3) : fmt::format("{:.1f} us", s * 1e6);
}

std::string percent(double now, double before) {
  return before > 0 ? fmt::format("{:+.1f}%", 100.0 * (now - before) / before) : "-";
}

// The first problem of a validation error (its lines after the summary), cut short.
std::string first_problem(const std::string& detail) {
  const std::size_t nl = detail.find("\n  ");
  std::string line = nl == std::string::npos ? detail : detail.substr(nl + 3);
  line = line.substr(0, line.find('\n'));
  return line.size() > 160 ? line.substr(0, 157) + "..." : line;
}

// A bar on stderr: candidates tried, the op and axis, its best time against the start.
std::function<void(const TuneProgress&)> progress_bar(bool quiet) {
  if (quiet) return {};
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  auto last_op = std::make_shared<std::string>();
  return [tty, last_op](const TuneProgress& p) {
    constexpr int kWidth = 24;
    const double frac = p.expected > 0 ? std::min(1.0, static_cast<double>(p.tried) / p.expected) : 0.0;
    const int filled = static_cast<int>(frac * kWidth + 0.5);
    const std::string line =
        fmt::format("[{}{}] {}/{} candidates  {}{}  best {} (start {}, {})  cache hits {}  {:.0f} s",
                    std::string(filled, '#'), std::string(kWidth - filled, '.'), p.tried, p.expected, p.op,
                    p.axis.empty() ? "" : " (" + p.axis + ")", time_str(p.best_s), time_str(p.start_score_s),
                    percent(p.best_s, p.start_score_s), p.cache_hits, p.elapsed_s);
    if (tty) {
      fmt::print(stderr, "\r\033[K{}", line);
    } else if (*last_op != p.op) {
      fmt::print(stderr, "{}\n", line);  // one line per op when not on a terminal
    }
    *last_op = p.op;
    std::fflush(stderr);
  };
}

int run_tune(const TuneArgs& a) {
  TTT_CHECK(a.model.empty() != a.spec.empty(), InvalidConfig, "tune: give either --model DIR or --spec NAME (got {})",
            a.model.empty() ? "neither" : "both");
  TuneOptions o;
  if (!a.model.empty()) {
    o.spec = load_model_spec(a.model);
    o.weights = std::make_shared<SafetensorsWeights>(SafetensorsWeights::open(a.model));
  } else {
    o.spec = builtin_spec(a.spec);
  }
  o.device = a.device;
  o.mode = parse_enum<Mode>(a.mode);
  o.target = parse_enum<OptimizationTarget>(a.target);
  o.min_pcc = a.min_pcc;
  o.budget_s = a.budget_s;
  o.layers = a.layers;
  o.tokens = a.tokens;
  o.timing_steps = a.timing_steps;
  o.min_share = a.min_share;
  o.only_ops = a.ops;
  o.use_cache = !a.no_cache;
  if (!a.cache_dir.empty()) o.cache_dir = a.cache_dir;
  // The start: the file, else the defaults of the target (its column of the precision table).
  if (!a.hw_config.empty()) {
    o.start = ModuleHardwareConfig::from_yaml_file(a.hw_config, a.device);
    TTT_CHECK(o.start.device == a.device, InvalidConfig,
              "{}: the file is for device '{}' (its `device` key) but --device is '{}'; drop one of them", a.hw_config,
              o.start.device, a.device);
  } else {
    o.start = ModuleHardwareConfig(a.device);
    o.start.optimization_target = o.target;
  }
  if (a.batch > 0) o.start.shapes.prefill_batch = o.start.shapes.decode_batch = a.batch;
  if (a.seq_len > 0) o.start.shapes.prefill_seq = o.start.shapes.cache_len = a.seq_len;
  o.progress = progress_bar(a.quiet);

  const TuneResult r = tune(o);
  if (!a.quiet && o.progress) fmt::print(stderr, "\n");
  std::FILE* report = a.output.empty() ? stderr : stdout;
  const bool ttnn = Device::spec_for(a.device).is_ttnn();
  const std::string measure = ttnn ? "step (cost model)" : "module (measured)";

  Table t({"op", measure + " start", "tuned", "change", "what changed"});
  for (const TunedOp& op : r.ops)
    t.add({op.key, time_str(op.start_s), time_str(op.tuned_s), percent(op.tuned_s, op.start_s),
           op.changes.empty() ? "-" : fmt::format("{}", fmt::join(op.changes, "; "))});
  fmt::print(report, "{} on {}, {}; target {}, min PCC {}; {} layer(s) built\n\n{}\n", o.spec.name, a.device, a.mode,
             a.target, a.min_pcc, std::min(o.layers, o.spec.num_layers), t.str());
  if (a.verbose) {
    // Every candidate: what it changed, its measure, its PCC when looked at, the verdict.
    Table tr({"op", "axis", "candidate", "measure", "PCC", "verdict"});
    for (const TuneTrial& trial : r.trials) {
      const auto op = std::find_if(r.ops.begin(), r.ops.end(), [&](const TunedOp& x) { return x.path == trial.path; });
      const std::vector<std::string> changes = op == r.ops.end() ? std::vector<std::string>{} : config_changes(op->start, trial.config);
      tr.add({trial.path, trial.axis, fmt::format("{}", fmt::join(changes, "; ")),
              trial.valid ? time_str(trial.time_s) : "-", trial.pcc ? fmt::format("{:.5f}", *trial.pcc) : "-",
              !trial.valid ? "refused: " + first_problem(trial.problem)
              : trial.won  ? "won"
              : trial.pcc && *trial.pcc < a.min_pcc ? "below min PCC"
                                                    : ""});
    }
    fmt::print(report, "{}\n", tr.str());
  }
  const TuneStats& s = r.stats;
  fmt::print(report,
             "candidates: {} proposed, {} refused by validation, {} measured, {} accuracy checks, {} below min PCC\n"
             "cache: {} hits, {} misses; {} ops tuned, {} skipped; {:.1f} s{}\n",
             s.proposed, s.rejected_invalid, s.measured, s.accuracy_checks, s.rejected_accuracy, s.cache_hits,
             s.cache_misses, s.ops_tuned, s.ops_skipped, s.elapsed_s,
             s.budget_exhausted ? " (stopped by --budget-s)" : "");

  if (!a.output.empty()) {
    std::ofstream f(a.output);
    TTT_CHECK(f.good(), Io, "cannot write '{}' (-o): expected a writable file path", a.output);
    f << r.yaml;
    TTT_CHECK(f.good(), Io, "writing '{}' failed", a.output);
    fmt::print(report, "wrote {}\n", a.output);
  } else {
    fmt::print("{}", r.yaml);
  }
  if (a.no_report) return 0;

  // Default, start and tuned, measured in this one run.
  std::vector<std::pair<std::string, ModuleHardwareConfig>> configs{{"default", ModuleHardwareConfig(a.device)}};
  for (auto& c : configs) c.second.shapes = o.start.shapes;
  configs.emplace_back("start", o.start);
  configs.emplace_back("tuned", r.tuned);
  const auto evals = evaluate_configs(o, configs, a.eval_layers, a.rounds);
  const int64_t depth = a.eval_layers > 0 ? a.eval_layers : (ttnn ? o.spec.num_layers : a.layers);
  Table e({"config", o.mode == Mode::decode ? "time per token" : "time per prefill", "vs default", "tokens/s",
           "logits PCC", "weights"});
  for (const ConfigEvaluation& c : evals)
    e.add({c.name, time_str(c.token_s), fmt::format("{:.3f}x", evals[0].token_s / std::max(c.token_s, 1e-12)),
           fmt::format("{:.1f}", static_cast<double>(o.mode == Mode::decode
                                                          ? o.start.shapes.decode_batch
                                                          : o.start.shapes.prefill_batch * o.start.shapes.prefill_seq) /
                                    std::max(c.token_s, 1e-12)),
           fmt::format("{:.5f}", c.pcc), human_bytes(static_cast<double>(c.weight_bytes))});
  fmt::print(report, "\n{} of a {}-layer model ({}); PCC of the {}-layer model against the double-precision reference\n{}",
             o.mode == Mode::decode ? "time per token" : "time per prefill", std::min(depth, o.spec.num_layers),
             evals.empty() || evals[0].measured ? "measured here, configs taking turns" : "cost model",
             std::min(o.layers, o.spec.num_layers), e.str());
  return 0;
}

}  // namespace

void add_tune_command(CLI::App& app, Runner& runner) {
  auto a = std::make_shared<TuneArgs>();
  auto* cmd = app.add_subcommand("tune", "Search per-op configs for speed or memory within an accuracy bound");
  auto* model = cmd->add_option("--model", a->model, "Model directory (config.json and safetensors weights)");
  auto* spec = cmd->add_option("--spec", a->spec, "Builtin model shape with random weights: " +
                                                       fmt::format("{}", fmt::join(builtin_spec_names(), ", ")));
  model->excludes(spec);
  cmd->add_option("--device", a->device, "cpu, ttnn:n150, ttnn:n300, ttnn:p150, ttnn:t3k");
  cmd->add_option("--mode", a->mode, "prefill or decode")->check(CLI::IsMember({"prefill", "decode"}));
  cmd->add_option("--target", a->target, "latency, memory or balanced: what the search minimises")
      ->check(CLI::IsMember({"latency", "memory", "balanced"}));
  cmd->add_option("--min-pcc", a->min_pcc, "Logits PCC against the reference every winner keeps (default 0.99)");
  cmd->add_option("--budget-s", a->budget_s, "Stop trying candidates after this many seconds (default: no limit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-o,--output", a->output, "Write the tuned hardware config here (default: standard output)");
  cmd->add_option("--hw-config", a->hw_config,
                  "Start from this hardware config (intents, overrides); default: the defaults of --target");
  cmd->add_option("--layers", a->layers, "Layers built while tuning (they share shapes; default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--tokens", a->tokens, "Decode steps of the accuracy check (default 4)")->check(CLI::PositiveNumber);
  cmd->add_option("--timing-steps", a->timing_steps,
                  "cpu: rounds per candidate; the configs of an axis take turns, the median counts (default 7)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch", a->batch, "Users (prefill and decode batch; default: the file's shapes, else 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seq-len", a->seq_len, "Prompt length and KV-cache length (default: the file's shapes, else 128)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--ops", a->ops, "Only these ops (names or paths)")->delimiter(',');
  cmd->add_option("--min-share", a->min_share, "Leave ops below this share of the step (default 0.005)");
  cmd->add_option("--cache-dir", a->cache_dir, "Results cache directory (default: <weight cache root>/tune)");
  cmd->add_flag("--no-cache", a->no_cache, "Measure everything afresh and cache nothing");
  cmd->add_flag("--no-report", a->no_report, "Skip the default / start / tuned comparison");
  cmd->add_option("--eval-layers", a->eval_layers,
                  "Layers of the model the comparison times (default: cpu the tuning model, ttnn the whole model)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--rounds", a->rounds, "cpu: rounds of the comparison, configs taking turns (default 5)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("-q,--quiet", a->quiet, "No progress bar");
  cmd->add_flag("-v,--verbose", a->verbose, "List every candidate with its measure, PCC and verdict");
  cmd->callback([a, &runner] { runner = [a] { return run_tune(*a); }; });
}

}  // namespace ttt::cli
