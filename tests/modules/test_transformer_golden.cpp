// The module tree against the double-precision reference on the bundled models.
#include <gtest/gtest.h>

#include "../models/model_test_util.hpp"
#include "../ops/op_test_util.hpp"
#include "ttt/formats.hpp"
#include "ttt/models/model_config.hpp"
#include "ttt/models/reference_model.hpp"
#include "ttt/models/safetensors.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> out;
  std::stringstream ss(s);
  int32_t v;
  while (ss >> v) out.push_back(v);
  return out;
}

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

struct GreedyRun {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;
};

GreedyRun greedy(Transformer& model, const std::vector<int32_t>& prompt, int steps) {
  GreedyRun r;
  model.compile_decode(DecodeShape{1, 128});
  model.compile(PrefillShape{1, static_cast<int64_t>(prompt.size())});
  std::vector<float> logits = to_float(model.forward_prefill(prompt, 1));
  int32_t pos = static_cast<int32_t>(prompt.size());
  for (int i = 0; i < steps; ++i) {
    r.logits.push_back(logits);
    const int32_t next = argmax(logits);
    r.tokens.push_back(next);
    const int32_t ids[1] = {next};
    const int32_t positions[1] = {pos++};
    logits = to_float(model.forward_decode(ids, positions));
  }
  return r;
}

TEST(TransformerGolden, Stories260kGreedyMatchesReferenceOnCpu) {
  const auto dir = test::model_path("stories260K");
  const TransformerSpec spec = load_model_spec(dir);
  auto weights = std::make_shared<SafetensorsWeights>(SafetensorsWeights::open(dir));
  Transformer model(spec, Device::open("cpu"), {}, weights);
  const std::vector<int32_t> prompt = parse_ids("1 403 407 261 378");
  const GreedyRun run = greedy(model, prompt, 64);
  const auto expected = parse_ids(
      "432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 426 385 "
      "328 432 358 394 261 370 432 352 266 268 388 426 338 391 266 267 337 335 312 432 398 312 286 267 414 270 333 415 "
      "426 13 438 310 439 419 357 336");
  EXPECT_EQ(run.tokens, expected);
  // Logits against the double-precision path at every step.
  ReferenceModel ref(spec, *weights);
  std::vector<int32_t> seq = prompt;
  std::vector<double> ref_logits = ref.forward(prompt);
  double worst = 1.0;
  for (std::size_t i = 0; i < run.logits.size(); ++i) {
    worst = std::min(worst, test::pcc(std::span<const float>(run.logits[i]), ref_logits));
    const int32_t t = run.tokens[i];
    ref_logits = ref.forward(std::span<const int32_t>(&t, 1));
  }
  EXPECT_GE(worst, 0.999) << "worst logits PCC over 64 steps";
}

}  // namespace
}  // namespace ttt
