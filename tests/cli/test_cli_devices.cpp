#include <gtest/gtest.h>

#include "cli_runner.hpp"

namespace ttt::test {
namespace {

TEST(CliDevices, ListsTheKnownDevices) {
  const CliResult r = run_cli("devices");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* name : {"cpu", "ttnn:n150", "ttnn:n300", "ttnn:p150", "ttnn:t3k", "ttnn:galaxy"})
    EXPECT_NE(r.out.find(name), std::string::npos) << name << " missing in:\n" << r.out;
  EXPECT_NE(r.out.find("WORMHOLE_B0"), std::string::npos);
  EXPECT_NE(r.out.find("BLACKHOLE"), std::string::npos);
  EXPECT_NE(r.out.find("32 (8x4)"), std::string::npos) << r.out;  // the galaxy's chips and mesh
}

TEST(CliDevices, UnknownSubcommandFails) {
  const CliResult r = run_cli("no-such-command");
  EXPECT_NE(r.code, 0);
}

}  // namespace
}  // namespace ttt::test
