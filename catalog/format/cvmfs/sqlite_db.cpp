// libsqlite3 behind sqlite_db.hpp: SQLite's return codes become stratum
// errors here. Thread: one thread at a time per connection.
#include "catalog/format/cvmfs/sqlite_db.hpp"

#include "async/error.hpp"

#include <sqlite3.h>

#include <cstring>

namespace stratum::cvmfs {

sqlite_stmt::~sqlite_stmt() { sqlite3_finalize(s_); }

sqlite_stmt& sqlite_stmt::bind(int i, std::int64_t v) {
  if (int rc = sqlite3_bind_int64(s_, i, v); rc != SQLITE_OK) db_->sqlite_failed(rc, "bind");
  return *this;
}

sqlite_stmt& sqlite_stmt::bind_text(int i, std::string_view v) {
  // A null pointer binds NULL, and an empty string_view may have one; ''
  // is not NULL (CernVM-FS writes symlink '' for entries without a target).
  if (int rc = sqlite3_bind_text64(s_, i, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      rc != SQLITE_OK)
    db_->sqlite_failed(rc, "bind");
  return *this;
}

sqlite_stmt& sqlite_stmt::bind_blob(int i, byte_view v) {
  // A zero-length blob is still a blob, not NULL: SQLite needs a non-null
  // pointer to tell them apart.
  static const std::uint8_t none = 0;
  if (int rc = sqlite3_bind_blob64(s_, i, v.empty() ? &none : v.data(), v.size(), SQLITE_TRANSIENT); rc != SQLITE_OK)
    db_->sqlite_failed(rc, "bind");
  return *this;
}

sqlite_stmt& sqlite_stmt::bind_null(int i) {
  if (int rc = sqlite3_bind_null(s_, i); rc != SQLITE_OK) db_->sqlite_failed(rc, "bind");
  return *this;
}

bool sqlite_stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->sqlite_failed(rc, "query");
}

void sqlite_stmt::run() {
  while (step()) {
  }
  reset();
}

void sqlite_stmt::reset() {
  // sqlite3_reset repeats the last step's error, which step() already threw.
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

bool sqlite_stmt::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
bool sqlite_stmt::is_integer(int col) const { return sqlite3_column_type(s_, col) == SQLITE_INTEGER; }
std::int64_t sqlite_stmt::integer(int col) const { return sqlite3_column_int64(s_, col); }

std::string sqlite_stmt::text(int col) const {
  auto* p = sqlite3_column_text(s_, col);
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

bytes sqlite_stmt::blob(int col) const {
  auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? bytes(p, p + n) : bytes();
}

namespace {

sqlite3* open_memory(const std::string& what) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close(db);
    fail(errc::permanent, what + ": SQLite cannot open a database in memory: " + sqlite3_errstr(rc));
  }
  return db;
}

}  // namespace

sqlite_db sqlite_db::create(std::string what) {
  sqlite_db d(open_memory(what), std::move(what), false);
  // Before the first table: the page size is fixed when page 1 is written.
  d.exec("PRAGMA page_size = 4096; PRAGMA journal_mode = OFF; PRAGMA foreign_keys = ON;");
  return d;
}

namespace {

// The hostile-input settings of open_image and edit_image: see open_image.
void harden(sqlite3* db, const sqlite_db& d) {
  // Everything a crafted file could use to act beyond its own bytes or to
  // make a read run code: defensive mode (no writes to the schema or
  // through shadow tables, no PRAGMA writable_schema), an untrusted schema
  // (functions with side effects refused inside it), no triggers or views
  // (queries read the named tables only), no extensions, no ATTACH.
  int ok = 0;
  for (auto [op, on] : {std::pair{SQLITE_DBCONFIG_DEFENSIVE, 1}, {SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0},
                        {SQLITE_DBCONFIG_ENABLE_TRIGGER, 0}, {SQLITE_DBCONFIG_ENABLE_VIEW, 0},
                        {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0}})
    if (int rc = sqlite3_db_config(db, op, on, &ok); rc != SQLITE_OK) d.sqlite_failed(rc, "configure");
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
}

void check_image(const sqlite_db& d) {
  auto check = d.prepare("PRAGMA quick_check(1)");
  if (!check.step()) d.bad("PRAGMA quick_check returned nothing");
  if (auto r = check.text(0); r != "ok") d.bad("damaged database: " + r);
  // Views and triggers are off, but a schema holding them is not one
  // CernVM-FS wrote.
  auto other = d.prepare("SELECT name FROM sqlite_schema WHERE type NOT IN ('table', 'index')");
  if (other.step()) d.bad("the schema holds '" + other.text(0) + "', which is neither a table nor an index");
}

void check_size(byte_view image, const std::string& what, std::uint64_t limit) {
  if (image.empty()) fail(errc::corrupt, what + ": empty, not an SQLite database");
  if (image.size() > limit)
    fail(errc::corrupt, what + ": " + std::to_string(image.size()) + " bytes, more than the limit of " +
                            std::to_string(limit) + " bytes for a database");
}

}  // namespace

sqlite_db sqlite_db::open_image(byte_view image, std::string what, std::uint64_t limit) {
  check_size(image, what, limit);
  sqlite_db d(open_memory(what), std::move(what), true);
  harden(d.db_, d);
  // READONLY and no FREEONCLOSE: SQLite reads `image` in place and never
  // writes to it (writes fail with SQLITE_READONLY), so the const_cast
  // below hands it nothing it could change.
  auto* p = const_cast<unsigned char*>(image.data());
  auto n = static_cast<sqlite3_int64>(image.size());
  if (int rc = sqlite3_deserialize(d.db_, "main", p, n, n, SQLITE_DESERIALIZE_READONLY); rc != SQLITE_OK)
    d.sqlite_failed(rc, "open");
  d.exec("PRAGMA cell_size_check = ON; PRAGMA query_only = ON;");
  check_image(d);
  return d;
}

sqlite_db sqlite_db::edit_image(byte_view image, std::string what, std::uint64_t limit) {
  check_size(image, what, limit);
  sqlite_db d(open_memory(what), std::move(what), true);
  harden(d.db_, d);
  // SQLite owns the copy (FREEONCLOSE) and may grow it (RESIZEABLE).
  auto n = static_cast<sqlite3_int64>(image.size());
  auto* p = static_cast<unsigned char*>(sqlite3_malloc64(static_cast<sqlite3_uint64>(n)));
  if (!p) fail(errc::permanent, d.what_ + ": out of memory for a copy of " + std::to_string(n) + " bytes");
  std::memcpy(p, image.data(), image.size());
  if (int rc = sqlite3_deserialize(d.db_, "main", p, n, n, SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
      rc != SQLITE_OK)
    d.sqlite_failed(rc, "open");
  d.exec("PRAGMA cell_size_check = ON; PRAGMA journal_mode = OFF;");
  check_image(d);
  return d;
}

sqlite_db::~sqlite_db() { sqlite3_close_v2(db_); }

void sqlite_db::exec(const std::string& sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string m = msg ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    bad("SQLite: " + m);
  }
}

sqlite_stmt sqlite_db::prepare(std::string_view sql) const {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s);
    sqlite_failed(rc, "prepare");
  }
  return sqlite_stmt(*this, s);
}

bytes sqlite_db::serialize() const {
  sqlite3_int64 n = 0;
  unsigned char* p = sqlite3_serialize(db_, "main", &n, 0);
  if (!p) bad("SQLite could not serialize the database (out of memory?)");
  bytes out(p, p + n);
  sqlite3_free(p);
  return out;
}

bool sqlite_db::has_table(std::string_view name) const {
  auto s = prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?");
  s.bind_text(1, name);
  return s.step();
}

std::vector<std::string> sqlite_db::columns(std::string_view name) const {
  auto s = prepare("SELECT name FROM pragma_table_info(?) ORDER BY cid");
  s.bind_text(1, name);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

void sqlite_db::create_properties(const std::vector<std::pair<std::string, std::string>>& values) {
  exec("CREATE TABLE properties (key TEXT, value TEXT, CONSTRAINT pk_properties PRIMARY KEY (key));");
  auto s = prepare("INSERT INTO properties (key, value) VALUES (?, ?)");
  for (const auto& [k, v] : values) s.bind_text(1, k).bind_text(2, v).run();
}

std::map<std::string, std::string> sqlite_db::properties() const {
  if (!has_table("properties")) bad("no table 'properties'; not a CernVM-FS database");
  std::map<std::string, std::string> out;
  for (auto s = prepare("SELECT key, value FROM properties"); s.step();) out[s.text(0)] = s.text(1);
  return out;
}

std::map<std::string, std::string> sqlite_db::properties_of_schema(const std::string& kind, const std::string& schema,
                                                                   const std::string& revision) const {
  auto props = properties();
  const std::string s = props["schema"], r = props["schema_revision"];
  if (s != schema || r != revision)
    bad(kind + " schema '" + s.substr(0, 20) + "' revision '" + r.substr(0, 20) + "' is not supported (schema " + schema +
        ", revision " + revision + ")");
  return props;
}

void sqlite_db::bad(const std::string& message) const {
  fail(reading_ ? errc::corrupt : errc::permanent, what_ + ": " + message);
}

void sqlite_db::sqlite_failed(int rc, const std::string& doing) const {
  std::string m = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  // Out of memory is this machine's state, not the database's content.
  if ((rc & 0xff) == SQLITE_NOMEM) fail(errc::permanent, what_ + ": SQLite " + doing + ": " + m);
  bad("SQLite " + doing + ": " + m);
}

}  // namespace stratum::cvmfs
