// oneDNN (2.x API) for large row-major GEMMs. One primitive per shape, created once and
// kept with its memory objects and argument map, so a steady-state call only swaps the
// data pointers: nothing is allocated. oneDNN runs its own OpenMP threads; their count
// is set through the OpenMP runtime that libdnnl loads (looked up at run time, since the
// library itself does not link OpenMP).
#include <cstdint>

#include "ops/matmul/matmul_internal.hpp"

#ifdef TTT_WITH_DNNL
#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace ttt::ops::matmul_detail {

#ifdef TTT_WITH_DNNL

namespace {

using Key = std::tuple<int64_t, int64_t, int64_t, bool, int64_t, int64_t, int64_t, int>;

struct Entry {
  dnnl::matmul primitive;
  dnnl::memory a, b, c;
  // The C API's argument list: the C++ execute() builds a vector on every call.
  dnnl_exec_arg_t args[3];
};

struct Cache {
  std::mutex mutex;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<Key, std::unique_ptr<Entry>> entries;
  int threads_set = -1;
};

Cache& cache() {
  static Cache c;
  return c;
}

void set_openmp_threads(Cache& c, int threads) {
  if (threads <= 0 || threads == c.threads_set) return;
  using SetThreads = void (*)(int);
  static const auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set) set(threads);
  c.threads_set = threads;
}

}  // namespace

bool dnnl_available() { return true; }

bool dnnl_gemm(const DnnlGemm& g) {
  using dnnl::memory;
  Cache& c = cache();
  const std::lock_guard<std::mutex> lock(c.mutex);
  set_openmp_threads(c, g.threads);
  const Key key{g.m, g.k, g.n, g.bf16, g.lda, g.ldb, g.ldc, g.threads};
  auto it = c.entries.find(key);
  if (it == c.entries.end()) {
    const auto dt = g.bf16 ? memory::data_type::bf16 : memory::data_type::f32;
    const memory::desc a_md({g.m, g.k}, dt, {g.lda, 1});
    const memory::desc b_md({g.k, g.n}, dt, {g.ldb, 1});
    const memory::desc c_md({g.m, g.n}, memory::data_type::f32, {g.ldc, 1});
    const dnnl::matmul::desc desc(a_md, b_md, c_md);
    const dnnl::matmul::primitive_desc pd(desc, c.engine);
    auto e = std::make_unique<Entry>();
    e->primitive = dnnl::matmul(pd);
    // Placeholder handles; every call sets the real pointers.
    e->a = memory(a_md, c.engine, const_cast<void*>(g.a));
    e->b = memory(b_md, c.engine, const_cast<void*>(g.b));
    e->c = memory(c_md, c.engine, g.c);
    e->args[0] = {DNNL_ARG_SRC, e->a.get()};
    e->args[1] = {DNNL_ARG_WEIGHTS, e->b.get()};
    e->args[2] = {DNNL_ARG_DST, e->c.get()};
    it = c.entries.emplace(key, std::move(e)).first;
  }
  Entry& e = *it->second;
  e.a.set_data_handle(const_cast<void*>(g.a));
  e.b.set_data_handle(const_cast<void*>(g.b));
  e.c.set_data_handle(g.c);
  dnnl::error::wrap_c_api(dnnl_primitive_execute(e.primitive.get(), c.stream.get(), 3, e.args),
                          "matmul: oneDNN execute failed");
  c.stream.wait();
  return true;
}

#else

bool dnnl_available() { return false; }
bool dnnl_gemm(const DnnlGemm&) { return false; }

#endif

}  // namespace ttt::ops::matmul_detail
