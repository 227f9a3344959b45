#include "ttt/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "ttt/error.hpp"

namespace ttt {

std::string TensorSpec::str() const {
  return fmt::format("{} {} {} {} {}", name.empty() ? "<unnamed>" : name, shape.str(), to_string(dtype),
                     to_string(layout), memory_config.str());
}

HeapStorage::HeapStorage(std::size_t bytes) : size_(bytes) {
  std::size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  data_ = static_cast<std::byte*>(std::aligned_alloc(64, rounded));
  if (!data_) fail(ErrorKind::OutOfMemory, "host allocation of {} bytes failed", bytes);
  std::memset(data_, 0, rounded);
}

HeapStorage::~HeapStorage() { std::free(data_); }

Tensor::Tensor(TensorSpec spec, std::shared_ptr<Storage> storage, std::size_t offset, Device* device)
    : spec_(std::move(spec)), storage_(std::move(storage)), offset_(offset), device_(device) {
  if (storage_) {
    const auto need = static_cast<std::size_t>(spec_.bytes());
    TTT_CHECK(offset_ + need <= storage_->size(), ShapeMismatch,
              "tensor '{}' needs {} bytes at offset {} but its storage holds {} bytes", spec_.name, need, offset_,
              storage_->size());
  }
}

Tensor Tensor::empty(TensorSpec spec, Device* device) {
  auto storage = std::make_shared<HeapStorage>(static_cast<std::size_t>(spec.bytes()));
  return Tensor(std::move(spec), std::move(storage), 0, device);
}

std::byte* Tensor::raw() const {
  TTT_CHECK(storage_ != nullptr, InvalidConfig, "tensor '{}' has no storage", spec_.name);
  return storage_->data() + offset_;
}

Tensor Tensor::view(const Shape& shape) const {
  TensorSpec s = spec_;
  s.shape = shape;
  const auto need = static_cast<std::size_t>(s.bytes());
  TTT_CHECK(storage_ && offset_ + need <= storage_->size(), ShapeMismatch,
            "view of '{}' as {} needs {} bytes; its storage holds {} (allocated for {})", spec_.name, shape.str(),
            need, storage_ ? storage_->size() - offset_ : 0, spec_.shape.str());
  Tensor t = *this;
  t.spec_ = std::move(s);
  return t;
}

Tensor Tensor::renamed(std::string name) const {
  Tensor t = *this;
  t.spec_.name = std::move(name);
  return t;
}

}  // namespace ttt
