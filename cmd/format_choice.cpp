// The repository format of a publish (format_choice.hpp). Thread: the main thread.
#include "cmd/format_choice.hpp"

#include "async/error.hpp"
#include "catalog/format/cvmfs/cvmfs_format.hpp"
#include "catalog/format/cvmfs/keys.hpp"
#include "cmd/state_settings.hpp"

#include <filesystem>

namespace stratum::cmd {

std::unique_ptr<format_writer> chosen_format(const parsed_args& a, const std::string& state, bool fresh) {
  const auto settings = read_settings(state);
  auto setting = [&](const char* name) -> std::optional<std::string> {
    auto it = settings.find(name);
    return it == settings.end() ? std::nullopt : std::optional(it->second);
  };
  const auto recorded = setting("format");
  const std::string wanted = a.get_or("format", recorded.value_or("stratum"));
  if (wanted != "stratum" && wanted != "cvmfs") fail(errc::usage, "--format must be stratum or cvmfs, not '" + wanted + "'");
  if (recorded && *recorded != wanted)
    fail(errc::usage, "STATE '" + state + "' publishes a repository in the " + *recorded + " format, not " + wanted +
                          ": give the STATE of that repository, or a new one with --new");
  if (wanted == "stratum") {
    if (a.has("name") || a.has("hash")) fail(errc::usage, "--name and --hash are for --format cvmfs");
    if (fresh && !recorded) write_setting(state, "format", wanted);
    return nullptr;
  }
  // CernVM-FS: the repository's name and hash algorithm are fixed when it is made.
  const auto name = a.get("name") ? a.get("name") : setting("name");
  if (!name) fail(errc::usage, "--format cvmfs needs --name FQRN, the repository's name (e.g. sw.example.org)");
  cvmfs::check_fqrn(*name);
  const std::string hash = a.get_or("hash", setting("hash").value_or("sha1"));
  const auto alg = cvmfs::algorithm_named(hash);
  if (!alg) fail(errc::usage, "--hash must be sha1, rmd160 or shake128, not '" + hash + "'");
  if (recorded && ((a.has("name") && *a.get("name") != setting("name").value_or("")) ||
                   (a.has("hash") && hash != setting("hash").value_or("sha1"))))
    fail(errc::usage, "STATE '" + state + "' publishes '" + setting("name").value_or("?") +
                          "'; its name and hash algorithm cannot change");
  // The key set: --keys DIR when the repository is made (remembered), else
  // STATE/keys, made by --new when it holds none.
  const std::string keys_dir = a.get_or("keys", setting("keys").value_or(state + "/keys"));
  // New keys are made and saved before anything is sent: a run killed
  // before they were kept could never sign what it sent.
  std::error_code ec;
  if (fresh && !a.has("keys") && !std::filesystem::exists(keys_dir + "/" + *name + ".crt", ec)) {
    std::filesystem::create_directories(keys_dir, ec);
    cvmfs::key_set::generate(*name).save(keys_dir);
  }
  auto keys = cvmfs::key_set::load(keys_dir, *name);
  write_setting(state, "format", wanted);
  write_setting(state, "name", *name);
  write_setting(state, "hash", hash);
  if (a.has("keys")) write_setting(state, "keys", std::filesystem::absolute(keys_dir).string());
  // The compression level names the objects: fixed when the repository is made.
  const auto level = setting("level").value_or(std::to_string(cvmfs::cvmfs_writer::default_level));
  if (!fresh && a.has("level") && a.get("level") != level)
    fail(errc::usage, "STATE '" + state + "' publishes with --level " + level + ", fixed when the repository was made "
                      "(object names depend on it)");
  const int lvl = fresh ? static_cast<int>(a.number("level", std::stoul(level))) : std::stoi(level);
  // zlib: set by stratum import for a repository cvmfs_server wrote.
  const bool zlib = setting("compressor").value_or("") == "zlib";
  auto w = std::make_unique<cvmfs::cvmfs_writer>(std::move(keys), *alg, lvl, zlib);
  write_setting(state, "level", std::to_string(lvl));
  return w;
}

}  // namespace stratum::cmd
