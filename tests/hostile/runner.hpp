// Runs every read command (ls, cat, restore, check, check -i, info) on a
// crafted store, each as a child process, and checks what must hold whatever
// the store holds (tests/hostile/README.md): the expected exit code, a
// message naming the object or path, no hang (killed after 30 s), peak RSS
// under 256 MiB, nothing written outside the restore destination or into the
// store, no xattr outside user.* on anything restored.
// Thread: the test's main thread.
#pragma once

#include "crafted_store.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace stratum::test::hostile {

struct child_result {
  int code = -1;  // exit code, or 128 + signal
  bool timed_out = false;
  long peak_rss_kib = 0;  // wait4's ru_maxrss
  double seconds = 0;
  std::string out, err;  // the first MiB of each
};
// Runs the stratum binary with `args` and `env` (NAME=VALUE, added to this
// process's environment); SIGKILL after `timeout`. Both outputs are drained
// as they come, so a chatty child cannot look like a hung one. With
// `drop_dac` the child loses CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so
// root obeys file permissions (a reader that may not write the store).
child_result run_child(const std::vector<std::string>& args, const std::vector<std::string>& env,
                       std::chrono::milliseconds timeout, bool drop_dac = false);

// A hang fails the case: the child is killed after this long (30 s;
// STRATUM_HOSTILE_TIMEOUT=SECONDS shortens it while working on the suite).
std::chrono::seconds command_timeout();
constexpr long peak_rss_limit_kib = 256 * 1024;

// The exit codes a command may end with, one bit each: code(3), code(1) | code(3).
constexpr unsigned code(int c) { return 1u << c; }

// What each command must do on a variant. Exit codes (README): 0 success;
// 1 check lists damaged content, restore left some paths out; 3 untrusted
// or unusable repository.
struct expectation {
  unsigned ls, cat, restore, check, check_i, info;
  std::string ls_path = "";               // ls STORE PATH
  std::string cat_path = "hello.txt";     // cat STORE PATH
  std::string ls_tag = "";                // ls ... --tag NAME
  // list-catalogs -e -s -x: reads every catalog of the current revision
  // (not the history, nor any file). Set by every builder below.
  unsigned list_catalogs = 0;
};

// Nothing is wrong: every command succeeds (a control for a crafting step).
expectation genuine();
// The manifest, its key or its trust is bad: nothing can be read.
expectation untrusted();
// The root catalog is bad: the readers stop, check lists it.
expectation root_damaged();
// The history is bad: what needs it (a tag, info's list of tags) stops;
// ls, cat and restore of the current revision do not read it; check lists it.
expectation history_damaged();
// A nested catalog is bad: ls and cat inside it stop; restore restores the
// rest and lists the subtree (1); check lists it; info (root catalog only)
// succeeds.
expectation nested_damaged(const std::string& mount = "sub", const std::string& file = "sub/inner.txt");
// hello.txt's object is there but its content is wrong: only what reads it
// fails; plain check (presence only) passes.
expectation file_damaged();
// hello.txt's object is not a regular file: plain check reports it too.
expectation file_not_regular();

// Any one of these must appear in stderr.
using needle = std::vector<std::string>;

struct run_spec {
  expectation expect;
  std::vector<needle> names;            // in stderr of every command that fails
  std::vector<std::string> extra_args;  // given to every command (--pubkey ...)
};

// The readers' environment of a crafted store: its own config directory, so
// trust records never touch the real one.
std::vector<std::string> reader_env(const crafted_store& s);

// One genuine read before the store is crafted, so the trust record holds
// the repository's key and revision, as for a user who has read it before.
void seed_trust(const crafted_store& s);

// Runs the six commands on `s` and checks each against `spec`.
void run_commands(const crafted_store& s, const run_spec& spec);

// The six commands' arguments on `s` (restore into `dest`), as run_commands
// runs them: (name, args).
std::vector<std::pair<std::string, std::vector<std::string>>> read_commands(const crafted_store& s, const expectation& x,
                                                                            const std::string& dest);

// Paths, types, modes, sizes, times and inodes of a tree (lstat only).
std::map<std::string, std::string> tree_snapshot(const std::string& dir);

}  // namespace stratum::test::hostile
