// Hostile stores, object by object: the manifest, the root and a nested
// catalog, the history, the public key object and a file object, each
// truncated, swapped for another object, replaced by a zlib bomb, or replaced
// by a FIFO, a symlink (to /dev/zero, to a file outside the store) or a
// directory — through ls, cat, restore, check, check -i and info
// (runner.hpp says what must hold). Thread: the test's main thread.
#include "runner.hpp"

#include <cstdlib>
#include <filesystem>

using namespace stratum;
using namespace stratum::test;
using namespace stratum::test::hostile;

namespace {

struct variant {
  std::string name;
  std::function<void(crafted_store&)> craft;
};

// Crafts each variant from a fresh copy of the genuine store (after one
// genuine read, so the trust record knows the repository) and runs it.
void run_variants(const std::vector<variant>& variants, const expectation& x, const std::vector<needle>& names) {
  for (const auto& v : variants) {
    crafted_store s(v.name);
    seed_trust(s);
    v.craft(s);
    run_commands(s, {x, names});
  }
}

// The four ways a store can put something other than an object's bytes
// where an object goes.
std::vector<variant> not_a_file(const std::string& what, const std::string& key) {
  return {
      {what + " is a FIFO", [=](crafted_store& s) { s.fifo(key); }},
      {what + " is a symlink to /dev/zero", [=](crafted_store& s) { s.symlink(key, "/dev/zero"); }},
      {what + " is a symlink to a genuine copy outside the store", [=](crafted_store& s) { s.symlink_outside(key); }},
      {what + " is a directory", [=](crafted_store& s) { s.directory(key); }},
  };
}

std::vector<variant> plus(std::vector<variant> a, const std::vector<variant>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("hostile manifest: truncated, a FIFO, symlinks, a directory, 3 GiB (sparse): every reader refuses at once") {
  const std::string key = stratum::manifest_key;
  auto variants = plus(
      {
          {"manifest truncated", [&](crafted_store& s) { s.truncate(key); }},
          {"manifest of 3 GiB (sparse)", [&](crafted_store& s) { s.sparse_manifest(std::uint64_t(3) << 30); }},
      },
      not_a_file("manifest", key));
  for (const auto& v : variants) {
    crafted_store s(v.name);
    seed_trust(s);
    v.craft(s);
    // The store's name, and which object of it: the manifest.
    run_commands(s, {untrusted(), {{s.store}, {key, "manifest"}}});
  }
}

TEST_CASE("hostile root catalog: truncated, swapped, a bomb, a FIFO, symlinks, a directory") {
  const auto& b = base();
  auto variants = plus(
      {
          {"root catalog truncated", [&](crafted_store& s) { s.truncate(b.root_key); }},
          {"root catalog swapped for a file object", [&](crafted_store& s) { s.copy(b.file_key, b.root_key); }},
          {"root catalog swapped for the history", [&](crafted_store& s) { s.copy(b.history_key, b.root_key); }},
          {"root catalog swapped for a nested catalog", [&](crafted_store& s) { s.copy(b.nested_key, b.root_key); }},
          {"root catalog is a zlib bomb", [&](crafted_store& s) { s.put(b.root_key, bomb()); }},
      },
      not_a_file("root catalog", b.root_key));
  run_variants(variants, root_damaged(), {{b.root_key}});
}

TEST_CASE("hostile nested catalog: truncated, swapped, a bomb, a FIFO, symlinks, a directory") {
  const auto& b = base();
  auto variants = plus(
      {
          {"nested catalog truncated", [&](crafted_store& s) { s.truncate(b.nested_key); }},
          {"nested catalog swapped for a file object", [&](crafted_store& s) { s.copy(b.nested_file_key, b.nested_key); }},
          {"nested catalog is a zlib bomb", [&](crafted_store& s) { s.put(b.nested_key, bomb()); }},
      },
      not_a_file("nested catalog", b.nested_key));
  run_variants(variants, nested_damaged(), {{b.nested_key}});
}

TEST_CASE("hostile history: truncated, swapped for a catalog, a bomb, a FIFO, symlinks, a directory") {
  const auto& b = base();
  auto variants = plus(
      {
          {"history truncated", [&](crafted_store& s) { s.truncate(b.history_key); }},
          {"history swapped for the root catalog", [&](crafted_store& s) { s.copy(b.root_key, b.history_key); }},
          {"history is a zlib bomb", [&](crafted_store& s) { s.put(b.history_key, bomb()); }},
      },
      not_a_file("history", b.history_key));
  run_variants(variants, history_damaged(), {{b.history_key}});
}

TEST_CASE("hostile public key object: truncated, swapped, a bomb, a FIFO") {
  const auto& b = base();
  std::vector<variant> variants = {
      {"public key object truncated", [&](crafted_store& s) { s.truncate(b.public_key_key); }},
      {"public key object swapped for a file object", [&](crafted_store& s) { s.copy(b.file_key, b.public_key_key); }},
      {"public key object is a zlib bomb", [&](crafted_store& s) { s.put(b.public_key_key, bomb()); }},
      {"public key object is a FIFO", [&](crafted_store& s) { s.fifo(b.public_key_key); }},
  };
  run_variants(variants, untrusted(), {{b.public_key_key}});
}

TEST_CASE("hostile file object: truncated, swapped for a catalog, a bomb") {
  const auto& b = base();
  std::vector<variant> variants = {
      {"file object truncated", [&](crafted_store& s) { s.truncate(b.file_key); }},
      {"file object swapped for a catalog", [&](crafted_store& s) { s.copy(b.root_key, b.file_key); }},
      {"file object is a zlib bomb", [&](crafted_store& s) { s.put(b.file_key, bomb()); }},
  };
  run_variants(variants, file_damaged(), {{b.file_key}});
}

TEST_CASE("hostile file object: a FIFO, symlinks, a directory (plain check lists them too)") {
  const auto& b = base();
  run_variants(not_a_file("file object", b.file_key), file_not_regular(), {{b.file_key}});
}

TEST_CASE("reading writes nothing to the store: every reader reads a read-only store that has no .stratum-tmp") {
  // A store copied without its .stratum-tmp/ (rsync of data/ and the
  // manifest, a read-only mount, a store another account owns): a reader
  // may not write it, and has no reason to.
  crafted_store s("read-only store");
  std::filesystem::remove_all(s.store + "/.stratum-tmp");
  REQUIRE(::system(("chmod -R a-w '" + s.store + "'").c_str()) == 0);
  const auto before = tree_snapshot(s.store);
  for (auto& [name, args] : read_commands(s, expectation{}, s.dir / "dest")) {
    auto r = run_child(args, reader_env(s), command_timeout(), /*drop_dac=*/true);
    INFO("[read-only store] stratum " << name << ": " << r.err);
    CHECK(r.code == 0);
    CHECK(tree_snapshot(s.store) == before);
  }
}

namespace {

// A repository as a writer before bounded reads left it: no sizes in the
// manifest, nested references without sizes (catalog format 1). Readers then
// inflate catalogs and the history in a bounded stream (--max-catalog-size,
// 64 MiB by default) instead of to a recorded size.
void as_old_format(crafted_store& s) {
  s.resign_catalog("", [](catalog& c) {
    for (auto& r : c.nested) r.size.reset();
  });
  manifest m = s.current_manifest();
  m.root_size.reset();
  m.history_size.reset();
  s.write_manifest(m, s.own_key());
}

}  // namespace

TEST_CASE("hostile old-format repository (no recorded sizes): bombs stop at the catalog limit") {
  const auto& b = base();
  {
    crafted_store s("old format, nothing else changed");
    seed_trust(s);
    as_old_format(s);
    run_commands(s, {genuine(), {}});
  }
  {
    crafted_store s("old format, root catalog is a zlib bomb");
    seed_trust(s);
    as_old_format(s);
    const auto root_key = object_key(s.current_manifest().root, object_kind::catalog);
    s.put(root_key, bomb());
    run_commands(s, {root_damaged(), {{root_key}}});
  }
  run_variants({{"old format, history is a zlib bomb",
                 [&](crafted_store& s) {
                   as_old_format(s);
                   s.put(b.history_key, bomb());
                 }}},
               history_damaged(), {{b.history_key}});
  run_variants({{"old format, nested catalog is a zlib bomb",
                 [&](crafted_store& s) {
                   as_old_format(s);
                   s.put(b.nested_key, bomb());
                 }}},
               nested_damaged(), {{b.nested_key}});
}
