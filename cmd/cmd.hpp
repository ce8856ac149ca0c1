// cmd/ — the command-line front-end. It parses options, builds the stack
// (pools, store, repository), runs the io_context, and maps outcomes to exit
// codes: 0 success, 1 finished with per-file problems, 2 usage error,
// 3 fatal error (nothing published; the command can be run again).
// Thread: the main thread, which runs the io_context.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stratum::cmd {

enum exit_code { ok = 0, problems = 1, usage = 2, fatal = 3 };

struct option_spec {
  std::string name;     // long name without dashes, e.g. "tag"
  char alias = 0;       // short form, e.g. 'm'
  bool takes_value = false;
};

struct parsed_args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // by long name; flags map to ""
  bool has(const std::string& n) const { return values.count(n) != 0; }
  std::optional<std::string> get(const std::string& n) const;
  std::string get_or(const std::string& n, std::string d) const { return get(n).value_or(std::move(d)); }
  unsigned long number(const std::string& n, unsigned long d) const;
};

// Parses argv after the command name. Throws errc::usage naming the option.
parsed_args parse_args(const std::vector<std::string>& argv, const std::vector<option_spec>& spec);

// Names are bytes: shows them on one line, escaping control characters
// (C0, 0x7f and C1), backslashes and bytes that are not well-formed UTF-8 as
// \n, \t, \\ and \xHH. The result is always valid UTF-8, and the bytes can
// be recovered from it.
std::string escape_name(std::string_view name);

std::string human_bytes(double b);

int run(int argc, char** argv);

}  // namespace stratum::cmd
