// ttt tune and ttt config intents, end to end through the command.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <fmt/format.h>

#include "cli_runner.hpp"
#include "ttt/device.hpp"

namespace ttt::test {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CliTune, WritesAFileThatValidatesAndLoads) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("ttt_cli_tune_{}", getpid());
  fs::create_directories(dir);
  const std::string out = (dir / "tuned.yaml").string();
  const std::string common = fmt::format("--spec tinystories-260k --device ttnn:n150 --cache-dir {} -q", (dir / "c").string());
  CliResult r = run_cli(fmt::format("tune {} --tokens 2 --seq-len 64 --target memory --min-pcc 0.9 -o {}", common, out));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("candidates: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote " + out), std::string::npos) << r.out;
  // The comparison: default, start and tuned, time per token and PCC.
  for (const char* row : {"default ", "start ", "tuned "}) EXPECT_NE(r.out.find(row), std::string::npos) << r.out;
  EXPECT_NE(read(out).find("ops:"), std::string::npos);
  r = run_cli(fmt::format("config validate {} --spec tinystories-260k", out));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("ok: "), std::string::npos) << r.out;
  r = run_cli(fmt::format("config show --spec tinystories-260k --hw-config {} --mode decode", out));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(" yaml "), std::string::npos) << r.out;
  // A second run: everything from the cache.
  r = run_cli(fmt::format("tune {} --tokens 2 --seq-len 64 --target memory --min-pcc 0.9 -o {} --no-report", common, out));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(" 0 misses"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(CliTune, BadOptionsSayWhatToChange) {
  CliResult r = run_cli("tune --spec tinystories-260k --device ttnn:n150 --min-pcc 1.5 --no-report -q");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("min PCC 1.5 must be in (-1, 1] (--min-pcc)"), std::string::npos) << r.out;
  r = run_cli("tune --device cpu --no-report -q");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("give either --model DIR or --spec NAME"), std::string::npos) << r.out;
}

// docs/hardware_config.md holds the intent table of every device as the command prints it.
TEST(CliTune, IntentTablesInTheDocsMatchTheCode) {
  const std::string docs = read(fs::path(TTT_SOURCE_DIR) / "docs" / "hardware_config.md");
  for (const std::string& device : Device::known_names()) {
    const CliResult r = run_cli(fmt::format("config intents --device {}", device));
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(docs.find(r.out), std::string::npos)
        << device << ": docs/hardware_config.md lacks this table (regenerate it with ttt config intents):\n"
        << r.out;
  }
}

}  // namespace
}  // namespace ttt::test
