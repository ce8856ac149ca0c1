// The catalog layout options of a publish (layout_choice.hpp). Thread: the main thread.
#include "cmd/layout_choice.hpp"

#include "async/error.hpp"
#include "cmd/state_settings.hpp"
#include "io/sha256.hpp"

#include <cstring>
#include <filesystem>

namespace stratum::cmd {
namespace fs = std::filesystem;

namespace {

// The dirtab's text; none when an optional one (the source's) is absent.
std::optional<std::string> read_dirtab(const std::string& path, bool must_exist) {
  std::error_code ec;
  if (!must_exist && !fs::exists(path, ec)) return std::nullopt;
  if (fs::is_directory(path, ec)) fail(errc::usage, "dirtab '" + path + "' is a directory: give the file");
  auto text = read_text_file(path);
  if (!text) fail(errc::usage, "cannot read dirtab '" + path + "': " + std::strerror(errno) + ". Nothing was published");
  return text;
}

std::uint64_t weight(const parsed_args& a, const std::string& state, const char* name, std::uint64_t fallback) {
  if (a.has(name)) {
    auto n = a.number(name, fallback);
    if (n == 0) fail(errc::usage, std::string("--") + name + " must be at least 1");
    return n;
  }
  if (auto v = read_setting(state, std::string("autocatalogs-") + name)) return std::strtoull(v->c_str(), nullptr, 10);
  return fallback;
}

}  // namespace

chosen_layout choose_layout(const parsed_args& a, const std::string& state, const std::string& source,
                            const format_writer& fmt) {
  chosen_layout out;
  auto& o = out.options;
  // The dirtab: --dirtab FILE (remembered), else the one remembered, else
  // the format's file at the source root.
  // "" for none (a std::optional here trips g++ 12's maybe-uninitialized).
  std::string external;
  if (a.has("no-dirtab") && a.has("dirtab")) fail(errc::usage, "give --dirtab FILE or --no-dirtab, not both");
  if (a.has("dirtab")) external = fs::absolute(*a.get("dirtab")).lexically_normal().string();
  else if (!a.has("no-dirtab")) external = read_setting(state, "dirtab").value_or("");  // "": --no-dirtab recorded
  std::string where = !external.empty() ? external : source + "/" + std::string(fmt.dirtab_name());
  auto text = read_dirtab(where, !external.empty());
  if (text) o.rules = dirtab::parse(*text, where);

  if (a.has("autocatalogs") && a.has("no-autocatalogs")) fail(errc::usage, "give --autocatalogs or --no-autocatalogs, not both");
  o.autocatalogs = a.has("autocatalogs") || (!a.has("no-autocatalogs") && read_setting(state, "autocatalogs") == "yes");
  o.max_weight = weight(a, state, "max-weight", o.max_weight);
  o.min_weight = weight(a, state, "min-weight", o.min_weight);
  if (o.max_weight < o.min_weight)
    fail(errc::usage, "--max-weight " + std::to_string(o.max_weight) + " is below --min-weight " + std::to_string(o.min_weight) +
                          ": a catalog cannot be both. Give a maximum at least the minimum; nothing was published");
  if ((a.has("max-weight") || a.has("min-weight")) && !o.autocatalogs)
    fail(errc::usage, "--max-weight and --min-weight apply to --autocatalogs: add it (it is then remembered in STATE)");

  // Checked: now remembered.
  if (a.has("dirtab")) write_setting(state, "dirtab", external);
  if (a.has("no-dirtab") && read_setting(state, "dirtab")) write_setting(state, "dirtab", "");
  if (a.has("autocatalogs") || a.has("no-autocatalogs")) write_setting(state, "autocatalogs", o.autocatalogs ? "yes" : "no");
  if (a.has("max-weight")) write_setting(state, "autocatalogs-max-weight", std::to_string(o.max_weight));
  if (a.has("min-weight")) write_setting(state, "autocatalogs-min-weight", std::to_string(o.min_weight));

  if (text) out.id = "dirtab " + sha256(as_bytes(*text)).hex();
  if (o.autocatalogs)
    out.id += (out.id.empty() ? "" : " ") + std::string("auto ") + std::to_string(o.max_weight) + " " + std::to_string(o.min_weight);
  return out;
}

}  // namespace stratum::cmd
