#include <gtest/gtest.h>

#include "module_test_util.hpp"
#include "ttt/formats.hpp"
#include "ttt/modules/transformer.hpp"

namespace ttt {
namespace {

TEST(TransformerSmoke, PrefillThenDecodeRunsOnCpu) {
  const TransformerSpec spec = builtin_spec("tinystories-260k");
  auto weights = test::random_llama_weights(spec);
  Transformer model(spec, Device::open("cpu"), {}, weights);
  model.compile_decode(DecodeShape{1, 64});
  model.compile(PrefillShape{1, 8});
  std::vector<int32_t> prompt{1, 5, 9, 33};
  Tensor& logits = model.forward_prefill(prompt, 1);
  EXPECT_EQ(logits.shape(), (Shape{1, 1, 512}));
  std::vector<int32_t> next{7};
  std::vector<int32_t> pos{4};
  Tensor& l2 = model.forward_decode(next, pos);
  EXPECT_EQ(l2.shape(), (Shape{1, 1, 512}));
}

}  // namespace
}  // namespace ttt
