// Tensors: a small typed view (name, shape, dtype, layout, device, memory config)
// over storage owned elsewhere (a heap buffer, a memory-mapped cache file, an arena).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "ttt/dtype.hpp"
#include "ttt/memory_config.hpp"
#include "ttt/shape.hpp"

namespace ttt {

class Device;

struct TensorSpec {
  std::string name;
  Shape shape;  // logical
  DataType dtype = DataType::FLOAT32;
  Layout layout = Layout::ROW_MAJOR;
  MemoryConfig memory_config{};

  Shape padded() const { return padded_shape(shape, layout); }
  int64_t bytes() const { return storage_bytes(shape, dtype, layout); }
  std::string str() const;  // "name [1, 32] BFLOAT16 TILE DRAM INTERLEAVED"
};

// Owns bytes. Subclasses: heap (64-byte aligned), memory-mapped file, arena slice.
class Storage {
 public:
  virtual ~Storage() = default;
  virtual std::byte* data() = 0;
  virtual std::size_t size() const = 0;
};

// A 64-byte-aligned, zero-filled heap block.
class HeapStorage final : public Storage {
 public:
  explicit HeapStorage(std::size_t bytes);
  ~HeapStorage() override;
  HeapStorage(const HeapStorage&) = delete;
  HeapStorage& operator=(const HeapStorage&) = delete;
  std::byte* data() override { return data_; }
  std::size_t size() const override { return size_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

class Tensor {
 public:
  Tensor() = default;
  Tensor(TensorSpec spec, std::shared_ptr<Storage> storage, std::size_t offset = 0, Device* device = nullptr);

  // A zero-filled host tensor.
  static Tensor empty(TensorSpec spec, Device* device = nullptr);

  const TensorSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  const Shape& shape() const { return spec_.shape; }
  DataType dtype() const { return spec_.dtype; }
  Layout layout() const { return spec_.layout; }
  const MemoryConfig& memory_config() const { return spec_.memory_config; }
  Device* device() const { return device_; }
  bool defined() const { return storage_ != nullptr; }
  int64_t bytes() const { return spec_.bytes(); }

  std::byte* raw() const;
  template <typename T>
  T* data() const {
    return reinterpret_cast<T*>(raw());
  }
  // Typed span over a tensor whose elements are whole bytes (not block floats).
  template <typename T>
  std::span<T> span() const {
    return {data<T>(), static_cast<std::size_t>(bytes() / static_cast<int64_t>(sizeof(T)))};
  }

  // The same storage seen with another shape (same dtype and layout): a smaller batch
  // or sequence than the one allocated for. The new shape must fit in the storage.
  Tensor view(const Shape& shape) const;
  Tensor renamed(std::string name) const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }

 private:
  TensorSpec spec_;
  std::shared_ptr<Storage> storage_;
  std::size_t offset_ = 0;
  Device* device_ = nullptr;
};

}  // namespace ttt
