// Site hooks: executables in STATE/hooks/ that a command runs before and
// after it changes the repository, in the spirit of cvmfs_server's
// publish_before_hook and publish_after_hook (publish-before, publish-after;
// gc-before, gc-after). A missing hook is no hook. Thread: the main thread;
// run_hook blocks it until the hook exits, which is fine because hooks run
// only when nothing else is in flight (before the pipeline starts, after it
// has ended).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace stratum::cmd {

using hook_vars = std::vector<std::pair<std::string, std::string>>;

// Runs STATE/hooks/NAME with `args` as $1, $2, ..., and stratum's own
// environment plus STRATUM_HOOK=NAME, STRATUM_STATE=<STATE, absolute> and
// `env` (which the caller fills, e.g. STRATUM_REVISION). Its stdin is
// /dev/null; whatever it writes to stdout or stderr is copied to stratum's
// stderr a line at a time as "stratum: NAME: LINE" (escaped like names), so
// stdout (which may carry --json) holds only stratum's own output.
// Returns "" when the hook succeeded or there is none; otherwise what went
// wrong, as the end of a sentence naming the hook: "exited with status 2",
// "was killed by signal 9", "is not executable (chmod +x it, or remove it)".
// Never throws for a failing hook: the caller decides what a failure means.
std::string run_hook(const std::string& state, const std::string& name, const std::vector<std::string>& args,
                     const hook_vars& env = {});

// A before-hook: runs it, and when it fails throws errc::permanent saying
// which hook failed and how, and that nothing was changed — so the command
// ends with exit 3 before it has touched the journal or the store.
void run_before_hook(const std::string& state, const std::string& name, const std::vector<std::string>& args,
                     const hook_vars& env = {});

// An after-hook: runs it, and when it fails prints why to stderr and
// returns false (what the command did stands; it exits 1 rather than 0).
bool run_after_hook(const std::string& state, const std::string& name, const std::vector<std::string>& args,
                    const hook_vars& env = {});

// The path of hook NAME in STATE, as messages name it.
std::string hook_path(const std::string& state, const std::string& name);

}  // namespace stratum::cmd
