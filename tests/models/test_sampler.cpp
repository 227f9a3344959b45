#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "model_test_util.hpp"
#include "ttt/models/sampler.hpp"

namespace ttt {
namespace {

using test::error_of;

TEST(Sampler, ArgmaxTakesLowestIdOnTies) {
  EXPECT_EQ(argmax(std::vector<float>{1, 3, 3, 2}), 1);
  EXPECT_EQ(argmax(std::vector<double>{-1, -1}), 0);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(argmax(std::vector<float>{nan, 0.5f, 2.0f, nan}), 2);
  error_of([] { argmax(std::vector<float>{}); }, ErrorKind::InvalidConfig);
}

TEST(Sampler, GreedyAtTemperatureZero) {
  Sampler s;
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 0.7f, 0.7f, 0.2f}), 1);
  Sampler top1({.temperature = 5.0, .top_k = 1, .seed = 3});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(top1.sample(std::vector<double>{0, 2, 1}), 1);
  Sampler tiny_p({.temperature = 1.0, .top_p = 1e-9, .seed = 3});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(tiny_p.sample(std::vector<double>{0, 2, 1}), 1);
}

TEST(Sampler, SeedMakesItReproducible) {
  std::vector<float> logits(50);
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(std::sin(static_cast<double>(i)));
  const SamplerParams p{.temperature = 0.8, .top_k = 20, .top_p = 0.95, .seed = 1234};
  Sampler a(p), b(p), c({.temperature = 0.8, .top_k = 20, .top_p = 0.95, .seed = 99});
  std::vector<int32_t> ra, rb, rc;
  for (int i = 0; i < 100; ++i) {
    ra.push_back(a.sample(logits));
    rb.push_back(b.sample(logits));
    rc.push_back(c.sample(logits));
  }
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, rc);
  a.reseed(1234);
  EXPECT_EQ(a.sample(logits), ra[0]);
  // Pinned draws: the stream depends only on std::mt19937_64 and our own arithmetic.
  Sampler d({.temperature = 1.0, .seed = 42});
  std::vector<int32_t> rd;
  for (int i = 0; i < 8; ++i) rd.push_back(d.sample(std::vector<double>{0, std::log(2.0), std::log(3.0)}));
  Sampler e({.temperature = 1.0, .seed = 42});
  for (int i = 0; i < 8; ++i) EXPECT_EQ(e.sample(std::vector<double>{0, std::log(2.0), std::log(3.0)}), rd[static_cast<std::size_t>(i)]);
}

// Frequencies of 60000 draws against the exact distribution.
std::vector<double> frequencies(SamplerParams p, const std::vector<double>& logits) {
  Sampler s(p);
  std::vector<double> f(logits.size());
  const int n = 60000;
  for (int i = 0; i < n; ++i) f[static_cast<std::size_t>(s.sample(logits))] += 1.0 / n;
  return f;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 0.01) << i;
}

TEST(Sampler, Distributions) {
  const std::vector<double> logits = {0, std::log(2.0), std::log(3.0)};  // probabilities 1:2:3
  expect_near(frequencies({.temperature = 1.0, .seed = 1}, logits), {1 / 6.0, 2 / 6.0, 3 / 6.0});
  const double s2 = std::sqrt(2.0), s3 = std::sqrt(3.0), z = 1 + s2 + s3;
  expect_near(frequencies({.temperature = 2.0, .seed = 2}, logits), {1 / z, s2 / z, s3 / z});
  expect_near(frequencies({.temperature = 1.0, .top_k = 2, .seed = 3}, logits), {0, 0.4, 0.6});
  expect_near(frequencies({.temperature = 1.0, .top_p = 0.5, .seed = 4}, logits), {0, 0, 1});
  expect_near(frequencies({.temperature = 1.0, .top_p = 0.6, .seed = 5}, logits), {0, 0.4, 0.6});
}

TEST(Sampler, InvalidParams) {
  auto msg = error_of([] { Sampler({.temperature = -1}); }, ErrorKind::InvalidConfig);
  EXPECT_NE(msg.find("SamplerParams.temperature"), std::string::npos) << msg;
  msg = error_of([] { Sampler({.top_k = -2}); }, ErrorKind::InvalidConfig);
  EXPECT_NE(msg.find("SamplerParams.top_k"), std::string::npos) << msg;
  msg = error_of([] { Sampler({.top_p = 0}); }, ErrorKind::InvalidConfig);
  EXPECT_NE(msg.find("SamplerParams.top_p"), std::string::npos) << msg;
  msg = error_of([] { Sampler({.top_p = 1.5}); }, ErrorKind::InvalidConfig);
  EXPECT_NE(msg.find("got 1.5"), std::string::npos) << msg;
}

}  // namespace
}  // namespace ttt
