// STATE/settings (state_settings.hpp). Thread: the main thread.
#include "cmd/state_settings.hpp"

#include "async/error.hpp"
#include "cmd/cmd.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <unistd.h>

namespace stratum::cmd {

std::map<std::string, std::string> read_settings(const std::string& state) {
  std::map<std::string, std::string> out;
  std::ifstream in(state + "/settings");
  for (std::string l; std::getline(in, l);) {
    auto sp = l.find(' ');
    if (l.empty() || l[0] == '#' || sp == std::string::npos) continue;
    out[l.substr(0, sp)] = l.substr(sp + 1);
  }
  return out;
}

std::optional<std::string> read_setting(const std::string& state, const std::string& name) {
  auto all = read_settings(state);
  auto it = all.find(name);
  if (it == all.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void replace_file(const std::string& file, const std::string& text) {
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << text;
    out.flush();
    if (!out) fail(errc::permanent, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), file.c_str()) != 0) fail(errc::permanent, "cannot replace " + file);
}

void write_setting(const std::string& state, const std::string& name, const std::string& value) {
  auto all = read_settings(state);
  all[name] = value;
  std::string text = "# stratum: settings of the repository published from this STATE (name value)\n";
  for (auto& [k, v] : all) text += k + " " + v + "\n";
  replace_file(state + "/settings", text);
}

std::int64_t expiry_seconds(const parsed_args& a, const std::string& state, unsigned long fallback_days) {
  unsigned long days = fallback_days;
  if (a.has("expiry")) {
    days = a.number("expiry", 0);
    if (days > 36500) fail(errc::usage, "--expiry takes days, at most 36500, not " + std::to_string(days));
    write_setting(state, "expiry-days", std::to_string(days));
  } else if (auto v = read_setting(state, "expiry-days")) {
    days = std::strtoul(v->c_str(), nullptr, 10);
  }
  return static_cast<std::int64_t>(days) * 86400;
}

namespace {

id_map read_map(const std::string& file) {
  auto text = read_text_file(file);
  return text ? id_map::parse(*text, file) : id_map{};
}

void write_map(const std::string& file, const id_map& m) {
  if (m.empty()) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    if (ec) fail(errc::permanent, "cannot remove " + file + ": " + ec.message());
    return;
  }
  replace_file(file, m.serialise());
}

}  // namespace

owner_map remembered_owners(const std::string& state) {
  return {read_map(state + "/uid-map"), read_map(state + "/gid-map")};
}

void remember_owners(const std::string& state, const owner_map& m) {
  write_map(state + "/uid-map", m.uids);
  write_map(state + "/gid-map", m.gids);
}

}  // namespace stratum::cmd
