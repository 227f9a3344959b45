// MLP: SwiGLU feed-forward, down(silu(gate(x)) * up(x)), or plain down(act(up(x))).
// Ops: ff1_matmul (gate), ff3_matmul (up), swiglu_mul, ff2_matmul (down).
#pragma once

#include <memory>

#include "ttt/modules/common.hpp"
#include "ttt/modules/specs.hpp"

namespace ttt {

namespace ops {
struct MatmulArgs;
struct BinaryArgs;
}  // namespace ops

class MLP : public Module {
 public:
  // `reference` holds gate_proj.weight, up_proj.weight, down_proj.weight ([out, in]).
  MLP(MLPSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw = {},
      std::shared_ptr<const WeightSource> reference = nullptr, std::string path = "mlp",
      WeightLoader loader = nullptr);
  ~MLP() override;

  const MLPSpec& spec() const { return spec_; }
  // x: [batch, seq, hidden] (prefill) or [1, batch, hidden] (decode); the result lives
  // in this module's buffer until the next call.
  Tensor& forward_prefill(const Tensor& x);
  Tensor& forward_decode(const Tensor& x);

 protected:
  std::vector<std::pair<std::string, OpShape>> describe_ops(Mode mode, const ModuleShapes& s) const override;
  void check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& ops, ValidationReport& report) const override;
  void on_configs_applied() override;
  void reserve_buffers(Mode mode, ActivationArena& arena) override;
  void bind_buffers(Mode mode, ActivationArena& arena) override;

 private:
  struct Plan;
  Plan make_plan(Mode mode, int64_t rows_batch, int64_t rows_seq) const;
  Tensor& forward(Mode mode, const Tensor& x);

  MLPSpec spec_;
  std::shared_ptr<const WeightSource> reference_;
  WeightLoader loader_;
  Tensor w1_, w3_, w2_;  // [hidden, inter], [hidden, inter], [inter, hidden]
  std::unique_ptr<Plan> plans_[2];
};

}  // namespace ttt
