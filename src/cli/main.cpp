// The ttt command: one subcommand per job. Errors from the library end the process
// with their message and a non-zero code; nothing is swallowed.
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "commands.hpp"
#include "ttt/cpu_features.hpp"
#include "ttt/enum.hpp"
#include "ttt/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ttt: transformer modules configured op by op for the host CPU and Tenstorrent targets"};
  app.require_subcommand(1);
  std::string isa;
  app.add_option("--isa", isa,
                 "Highest SIMD level the host kernels may use: SCALAR, AVX2, AVX512, AVX512_BF16 (default: the best "
                 "the CPU has)");
  ttt::cli::Runner runner;
  ttt::cli::add_devices_command(app, runner);
  ttt::cli::add_generate_command(app, runner);
  ttt::cli::add_cache_command(app, runner);
  ttt::cli::add_bench_command(app, runner);
  ttt::cli::add_config_command(app, runner);
  ttt::cli::add_estimate_command(app, runner);
  ttt::cli::add_tune_command(app, runner);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (!isa.empty()) ttt::set_isa_limit(ttt::parse_enum<ttt::IsaLevel>(isa));
    return runner ? runner() : 0;
  } catch (const ttt::Error& e) {
    fmt::print(stderr, "ttt: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ttt: internal error: {}\n", e.what());
    return 3;
  }
}
