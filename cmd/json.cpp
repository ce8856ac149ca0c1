// Builds the JSON objects of cmd/json.hpp with Boost.JSON (its compiled part
// is cmd/json_impl.cpp). Runs on the calling thread.
#include "cmd/json.hpp"

#include "cmd/cmd.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>

namespace stratum::cmd {
namespace {

namespace json = boost::json;

// A name as the text output shows it: valid UTF-8, so valid in JSON.
json::string name(std::string_view bytes) { return json::string(escape_name(bytes)); }

// A mean of requests in flight, as a whole number: the benchmarks read it as
// one (bench/s3.sh), and a fraction of a request says nothing.
std::uint64_t whole(double x) { return x > 0 ? static_cast<std::uint64_t>(std::llround(x)) : 0; }

std::string line(const json::object& o) { return json::serialize(o) + "\n"; }

}  // namespace

std::string publish_json(const publish_report& p) {
  const auto& r = p.result;
  const auto& s = p.stats;
  const auto& rs = p.requests;
  json::object o;
  o["store"] = name(p.store);
  o["revision"] = r.m.revision;
  o["root_catalog"] = r.root_text.empty() ? r.m.root.hex() : r.root_text;
  o["unchanged"] = r.unchanged;
  o["resumed"] = s.resumed || r.already_published;
  o["files"] = r.totals.regular;
  o["directories"] = r.totals.directories;
  o["symlinks"] = r.totals.symlinks;
  o["specials"] = r.totals.specials;
  o["bytes"] = r.totals.bytes;
  o["files_read"] = s.files_read;
  o["files_unchanged"] = s.files_unchanged;
  o["objects_stored"] = s.objects_stored;
  o["bytes_stored"] = s.bytes_stored;
  o["objects_deduplicated"] = s.objects_deduplicated;
  o["objects_resent"] = s.objects_resent;
  o["in_flight_at_stop"] = s.in_flight_at_stop;
  o["objects_lost_in_restart"] = s.objects_lost_in_restart;
  o["catalogs"] = s.catalogs;
  // The layout (catalog_layout.hpp): nested catalogs by reason, and what
  // --autocatalogs changed in this run.
  o["catalogs_nested"] = r.layout.nested;
  o["catalogs_by_dirtab"] = r.layout.by_dirtab;
  o["catalogs_automatic"] = r.layout.automatic;
  o["catalogs_split_off"] = r.layout.split_off;
  o["catalogs_merged"] = r.layout.merged;
  o["journal_syncs"] = p.journal_syncs;
  o["requests_retried"] = rs.retries;
  o["throttled"] = rs.throttled;
  o["requests_in_flight_peak"] = rs.peak_in_flight;
  o["requests_in_flight_mean"] = whole(p.seconds > 0 ? rs.in_flight_seconds / p.seconds : 0.0);
  o["requests_in_flight_sustained"] = whole(rs.overlap_seconds > 0 ? rs.overlap_in_flight_seconds / rs.overlap_seconds : 0.0);
  o["problems"] = r.problems.size();
  o["reader"] = s.reader;
  o["seconds"] = std::round(p.seconds * 1000) / 1000;
  return line(o);
}

std::string info_json(const std::string& store, const manifest& m, const catalog_stats& s, std::size_t tags) {
  json::object o;
  o["store"] = name(store);
  o["revision"] = m.revision;
  o["timestamp"] = m.timestamp;
  o["root_catalog"] = m.root.hex();
  o["history"] = m.history.hex();
  o["public_key"] = m.public_key.hex();
  o["garbage_collectable"] = m.garbage_collectable;
  o["files"] = s.regular;
  o["directories"] = s.directories;
  o["symlinks"] = s.symlinks;
  o["specials"] = s.specials;
  o["bytes"] = s.bytes;
  o["chunked_files"] = s.chunked;
  o["chunks"] = s.chunks;
  o["nested_catalogs"] = s.nested;
  o["tags"] = tags;
  return line(o);
}

std::string diff_json(const std::string& store, const std::string& from, const std::string& to, const diff_result& d) {
  json::object o;
  o["store"] = name(store);
  o["from"] = name(from);
  o["to"] = name(to);
  json::array added, removed, modified;
  for (const auto& c : d.changes) {
    if (c.kind == path_change::added) added.push_back(name(c.path.empty() ? "." : c.path));
    else if (c.kind == path_change::removed) removed.push_back(name(c.path.empty() ? "." : c.path));
    else {
      json::array what;
      for (auto& n : change_names(c.changes)) what.push_back(json::string(n));
      modified.push_back(json::object{{"path", name(c.path.empty() ? "." : c.path)}, {"changes", std::move(what)}});
    }
  }
  o["added"] = std::move(added);
  o["removed"] = std::move(removed);
  o["modified"] = std::move(modified);
  o["catalogs_read"] = d.catalogs_read;
  return line(o);
}

std::string tags_json(const std::string& store, std::uint64_t revision, const std::vector<tag>& tags,
                      const format_reader& fmt) {
  json::array list;
  for (const auto& t : tags) {
    json::object o;
    o["name"] = name(t.name);
    o["revision"] = t.revision;
    o["root_catalog"] = fmt.hash_text(t.root);
    o["timestamp"] = t.timestamp;
    o["description"] = name(t.description);
    list.push_back(std::move(o));
  }
  json::object o;
  o["store"] = name(store);
  o["revision"] = revision;
  o["tags"] = std::move(list);
  return line(o);
}

std::string catalogs_json_open(const std::string& store, std::uint64_t revision) {
  // The object's opening, without its closing "]}": the rows follow.
  json::object o;
  o["store"] = name(store);
  o["revision"] = revision;
  std::string head = json::serialize(o);
  head.pop_back();
  return head + ",\"catalogs\":[\n";
}

std::string catalog_json(const catalog_row& r, const format_reader& fmt, bool first) {
  json::object o;
  o["path"] = name("/" + r.path);
  o["depth"] = r.depth;
  o["hash"] = fmt.hash_text(r.hash);
  o["key"] = name(fmt.object_key(r.hash, object_kind::catalog));
  o["entries"] = r.weight;
  o["stored_size"] = r.stored_size;
  o["inflated_size"] = r.inflated_size;
  o["nested"] = r.nested;
  return (first ? "" : ",\n") + json::serialize(o);
}

std::string catalogs_json_close() { return "\n]}\n"; }

namespace {
json::object gc_object(const std::string& store, bool dry_run, const gc_result& r) {
  json::array kept;
  for (const auto& k : r.kept) {
    json::object o;
    if (k.revision) o["revision"] = k.revision;
    o["root_catalog"] = k.root.hex();
    o["timestamp"] = k.timestamp;
    o["why"] = name(k.why);
    kept.push_back(std::move(o));
  }
  json::object o;
  o["store"] = name(store);
  o["dry_run"] = dry_run;
  o["kept"] = std::move(kept);
  o["revisions_already_collected"] = r.marking.revisions_gone;
  o["catalogs_read"] = r.marking.catalogs_read;
  o["objects_marked"] = r.objects_marked;
  o["objects_listed"] = r.objects_listed;
  o["objects_deleted"] = r.objects_deleted;
  o["bytes_deleted"] = r.bytes_deleted;
  o["objects_too_new"] = r.objects_young;
  o["other_keys"] = r.others;
  o["confirmations_forgotten"] = r.confirmations_forgotten;
  o["manifests_signed"] = r.manifests_signed;
  o["mark_seconds"] = r.mark_seconds;
  o["sweep_seconds"] = r.sweep_seconds;
  return o;
}
}  // namespace

std::string gc_json(const std::string& store, bool dry_run, const gc_result& r) { return line(gc_object(store, dry_run, r)); }

std::string with_gc_json(const std::string& publish_line, const std::string& store, const gc_result& r) {
  json::object o = json::parse(publish_line).as_object();
  o["gc"] = gc_object(store, false, r);
  return line(o);
}

std::string chown_json(const chown_report& r) {
  json::object o;
  o["store"] = name(r.store);
  o["published"] = r.published;
  o["from_revision"] = r.from;
  o["revision"] = r.revision;
  o["catalogs_rewritten"] = r.catalogs_rewritten;
  o["catalogs_kept"] = r.catalogs_kept;
  o["entries"] = r.entries;
  o["entries_mapped"] = r.entries_mapped;
  o["files_read"] = 0;
  o["objects_sent"] = r.objects_sent;
  return line(o);
}

}  // namespace stratum::cmd
