// Test helpers: run a coroutine to completion, temporary directories,
// running the stratum binary, fixture trees declared as data, tree comparison.
#pragma once

#include "async/async.hpp"
#include "async/error.hpp"

#include <doctest/doctest.h>

#include "io/io.hpp"

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <exception>
#include <optional>
#include <string>
#include <vector>

namespace stratum::test {

// Runs `make()` on a fresh io_context until it finishes; rethrows.
template <class F>
auto run_io(asio::io_context& io, F make) {
  using T = typename decltype(make())::value_type;
  std::exception_ptr err;
  std::optional<std::conditional_t<std::is_void_v<T>, int, T>> out;
  if constexpr (std::is_void_v<T>)
    asio::co_spawn(io, make(), [&](std::exception_ptr e) { err = e; out = 0; });
  else
    asio::co_spawn(io, make(), [&](std::exception_ptr e, T v) { err = e; out = std::move(v); });
  io.restart();
  io.run();
  if (err) std::rethrow_exception(err);
  if constexpr (!std::is_void_v<T>) return std::move(*out);
}

// `run()` must throw a stratum error of class `c` whose message starts with
// `prefix` and contains `says`.
template <class F>
void expect_failure(F&& run, errc c, const std::string& prefix, const std::string& says) {
  try {
    run();
    FAIL("no error");
  } catch (const std::exception& e) {
    const std::string m = e.what();
    CAPTURE(m);
    CHECK(is(e, c));
    CHECK(m.rfind(prefix, 0) == 0);
    CHECK(m.find(says) != std::string::npos);
  }
}

// A directory under /tmp removed (recursively) when the object dies.
struct temp_dir {
  temp_dir();
  ~temp_dir();
  std::string path;
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

struct run_result {
  int code = -1;
  std::string out, err;
};
// Runs the stratum binary with `args`. With `drop_dac`, the child loses
// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so root obeys file permissions.
run_result run_stratum(const std::vector<std::string>& args, bool drop_dac = false);

struct run_options {
  bool drop_dac = false;
  std::vector<std::string> env;  // NAME=VALUE added to the child's environment
  int kill_after_ms = -1;        // send SIGKILL after this long (if still running)
};
run_result run_stratum(const std::vector<std::string>& args, const run_options& o);

// One entry of a fixture tree. kind: 'f' file (content), 'd' directory,
// 'l' symlink (target), 'h' hardlink to `target`, 'p' FIFO, 'c' char device
// (rdev 1:3), 'z' sparse file of `size` bytes with `content` at its end,
// 'x' user xattr (target = name, content = value) on an existing path.
struct fixture {
  char kind;
  std::string path;
  std::string content = {};
  std::string target = {};
  unsigned mode = 0644;
  std::uint64_t size = 0;
};
// `files` small files f0, f1, ... and a nested CernVM-FS catalog at pkg/
// (pkg/.cvmfscatalog, pkg/p): the tree the CernVM-FS store tests publish.
std::vector<fixture> small_cvmfs_tree(int files);

// Creates the tree under root; every entry gets a distinct nanosecond mtime.
void make_tree(const std::string& root, const std::vector<fixture>& tree);

// Compares two trees: types, permission bits, mtimes (ns), uid/gid, content,
// symlink targets, rdev, user xattrs and hardlink structure. Returns the
// differences (empty when equal).
std::vector<std::string> compare_trees(const std::string& a, const std::string& b, bool owners = true);

// The value of a top-level field of a JSON object (strings unquoted, other
// values as JSON). REQUIREs `json` to parse (Boost.JSON: syntax and UTF-8).
std::string json_field(const std::string& json, const std::string& name);

// Runs a shell command and returns its standard output.
std::string shell(const std::string& command);

// Test data, the same for the same arguments on every run.
// Incompressible bytes (xorshift64).
std::string noise(std::size_t n, unsigned seed);
bytes random_bytes(std::size_t n, unsigned seed);
// Compressible but not trivially: letters a-p from the same generator.
std::string pattern(std::size_t n, unsigned seed);
// Lines of text that compress well.
std::string big_text(std::size_t n);

// Regular files under STORE/data (a local store's objects), and their inodes
// (an object sent again after a crash is a new file, renamed over the old).
std::size_t count_objects(const std::string& store);
std::map<std::string, ino_t> object_inodes(const std::string& store);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);

}  // namespace stratum::test
