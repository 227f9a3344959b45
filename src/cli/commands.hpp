// Each subcommand of `ttt` registers itself on the CLI11 app and returns the code
// the process exits with.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace ttt::cli {

using Runner = std::function<int()>;

// Adds the subcommand and sets `runner` to run it when it is chosen.
void add_devices_command(CLI::App& app, Runner& runner);
void add_generate_command(CLI::App& app, Runner& runner);
void add_cache_command(CLI::App& app, Runner& runner);
void add_bench_command(CLI::App& app, Runner& runner);
void add_config_command(CLI::App& app, Runner& runner);
void add_estimate_command(CLI::App& app, Runner& runner);
void add_tune_command(CLI::App& app, Runner& runner);

}  // namespace ttt::cli
