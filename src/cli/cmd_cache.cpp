// `ttt cache ls | verify | clear [--model DIR] [--cache-dir DIR]`: look after the weight
// cache. The cache root and the model's namespace are worked out exactly as the model
// code does (resolve_cache_dir, model_cache_namespace), so --model finds its files.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "commands.hpp"
#include "table.hpp"
#include "ttt/tensor_cache.hpp"

namespace ttt::cli {

namespace {

struct CacheOptions {
  std::string model;
  std::string cache_dir;
};

struct Scope {
  std::filesystem::path root;
  std::optional<std::string> ns;
  std::string where() const { return ns ? (root / *ns).string() : root.string(); }
};

Scope scope_of(const CacheOptions& o) {
  Scope s;
  s.root = resolve_cache_dir(o.cache_dir.empty() ? std::nullopt : std::optional<std::string>(o.cache_dir),
                             CacheEnv::from_process());
  if (!o.model.empty()) {
    TTT_CHECK(std::filesystem::is_directory(o.model), InvalidConfig,
              "--model '{}' is not a directory; give the model directory the cache was built from", o.model);
    s.ns = model_cache_namespace(o.model);
  }
  return s;
}

std::string relative_to(const std::filesystem::path& file, const std::filesystem::path& root) {
  return file.lexically_relative(root).string();
}

int run_ls(const CacheOptions& o) {
  const Scope s = scope_of(o);
  const std::vector<CacheFileInfo> files = list_cache(s.root, s.ns);
  if (files.empty()) {
    fmt::print("no weight cache files in {}\n", s.where());
    return 0;
  }
  Table t({"model", "tensor", "pieces", "dtype", "layout", "shape", "size", "status"});
  int64_t bytes = 0;
  std::set<std::string> models;
  for (const CacheFileInfo& f : files) {
    bytes += f.file_bytes;
    models.insert(f.model);
    if (f.temp) {
      t.add({f.model, f.file.filename().string(), "-", "-", "-", "-", human_bytes(static_cast<double>(f.file_bytes)),
             "temp file (a build in progress, or left by a crashed one)"});
    } else if (!f.problem.empty()) {
      t.add({f.model, f.file.filename().string(), "-", "-", "-", "-", human_bytes(static_cast<double>(f.file_bytes)),
             "CORRUPT: " + f.problem});
    } else {
      t.add({f.model, f.tensor, std::to_string(f.pieces), std::string(to_string(f.dtype)),
             std::string(to_string(f.layout)), f.shape.str(), human_bytes(static_cast<double>(f.file_bytes)), "ok"});
    }
  }
  fmt::print("weight cache in {}\n{}{} file(s), {} in {} model(s)\n", s.where(), t.str(), files.size(),
             human_bytes(static_cast<double>(bytes)), models.size());
  return 0;
}

int run_verify(const CacheOptions& o) {
  const Scope s = scope_of(o);
  const std::vector<CacheFileInfo> files = list_cache(s.root, s.ns);
  int corrupt = 0;
  int checked = 0;
  for (const CacheFileInfo& f : files) {
    const std::string name = relative_to(f.file, s.root);
    if (f.temp) {
      fmt::print("temp     {} (a build in progress, or left by a crashed one)\n", name);
      continue;
    }
    ++checked;
    const std::string problem = verify_cache_file(f.file);
    if (problem.empty()) {
      fmt::print("ok       {}\n", name);
    } else {
      ++corrupt;
      fmt::print("CORRUPT  {}: {}\n", f.file.string(), problem);
    }
  }
  fmt::print("{} file(s) checked in {}, {} corrupt{}\n", checked, s.where(), corrupt,
             corrupt ? "; the next run rebuilds them, or `ttt cache clear` removes everything" : "");
  return corrupt ? 1 : 0;
}

int run_clear(const CacheOptions& o) {
  const Scope s = scope_of(o);
  const ClearResult r = clear_cache(s.root, s.ns);
  fmt::print("removed {} file(s), {} from {}\n", r.files, human_bytes(static_cast<double>(r.bytes)), s.where());
  return 0;
}

}  // namespace

void add_cache_command(CLI::App& app, Runner& runner) {
  auto opts = std::make_shared<CacheOptions>();
  auto* cmd = app.add_subcommand("cache", "List, verify or clear the on-disk weight cache");
  cmd->require_subcommand(1);
  cmd->add_option("--model", opts->model, "Only the part of the cache built for this model directory");
  cmd->add_option("--cache-dir", opts->cache_dir, "Cache root (default: $XDG_CACHE_HOME/ttt, else ~/.cache/ttt)");
  // `ttt cache ls --model DIR` and `ttt cache --model DIR ls` both work.
  cmd->fallthrough();

  struct Sub {
    const char* name;
    const char* help;
    int (*run)(const CacheOptions&);
  };
  static constexpr Sub kSubs[] = {
      {"ls", "List cache files: model, tensor, pieces, dtype, layout, shape, size", run_ls},
      {"verify", "Check every cache file (headers and checksums); exit 1 naming any corrupt one", run_verify},
      {"clear", "Delete the cache, or one model's part of it with --model", run_clear},
  };
  for (const Sub& sub : kSubs) {
    auto* sc = cmd->add_subcommand(sub.name, sub.help);
    sc->fallthrough();
    sc->callback([&runner, opts, run = sub.run] { runner = [opts, run] { return run(*opts); }; });
  }
}

}  // namespace ttt::cli
