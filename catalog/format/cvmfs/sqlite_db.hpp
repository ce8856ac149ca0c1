// A small RAII wrapper over libsqlite3 for the CernVM-FS databases (catalogs,
// history, reflog are SQLite files): build one in memory and serialize it to
// bytes, or open bytes read from a store read-only, as hostile input. Every
// SQLite error becomes fail(errc::..., "<what>: ...") here and nowhere else:
// errc::corrupt for a database opened from bytes (its content is at fault),
// errc::permanent for one being built (our SQL or memory is).
// Thread: one thread at a time per object (connections are opened with
// SQLITE_OPEN_NOMUTEX); different objects on different threads are fine.
#pragma once

#include "io/io.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace stratum::cvmfs {

// Larger database images are refused before SQLite sees them. CernVM-FS
// advises keeping catalogs far below 1 GiB (it warns past ~200k entries);
// 4 GiB is the limit the publisher reads its own repository with.
constexpr std::uint64_t max_database_size = std::uint64_t{4} << 30;

class sqlite_db;

// A prepared statement. Indices: bind from 1, columns from 0 (SQLite's own).
class sqlite_stmt {
 public:
  sqlite_stmt(sqlite_stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  sqlite_stmt& operator=(sqlite_stmt&&) = delete;
  sqlite_stmt(const sqlite_stmt&) = delete;
  ~sqlite_stmt();

  sqlite_stmt& bind(int i, std::int64_t v);
  sqlite_stmt& bind_text(int i, std::string_view v);
  sqlite_stmt& bind_blob(int i, byte_view v);
  sqlite_stmt& bind_null(int i);
  // A row: true; done: false. Errors throw (see the file comment).
  bool step();
  // Runs a statement that returns no rows, then resets it for the next binds.
  void run();
  void reset();

  bool is_null(int col) const;
  bool is_integer(int col) const;
  std::int64_t integer(int col) const;
  // TEXT (or anything, as SQLite converts it) as bytes.
  std::string text(int col) const;
  bytes blob(int col) const;

 private:
  friend class sqlite_db;
  sqlite_stmt(const sqlite_db& db, sqlite3_stmt* s) : db_(&db), s_(s) {}
  const sqlite_db* db_;
  sqlite3_stmt* s_;
};

class sqlite_db {
 public:
  // An empty writable database in memory, page size 4096 (as CernVM-FS's
  // files have), no journal (nothing to roll back to: a failed build is
  // thrown away). `what` names the object in messages.
  static sqlite_db create(std::string what);

  // Opens `image` (a whole database file) read-only without copying it:
  // `image` must outlive the object. Safe on hostile bytes: size capped at
  // `limit`; SQLite's defensive mode; no triggers, views, extensions or
  // ATTACH; an untrusted schema may call no SQL function with side effects;
  // cell sizes checked as pages are read; and PRAGMA quick_check must pass
  // (every b-tree page well formed, every record decodable) before the
  // first query. Anything wrong: errc::corrupt naming `what`.
  static sqlite_db open_image(byte_view image, std::string what, std::uint64_t limit = max_database_size);
  // A writable copy of `image` in memory, opened with the same checks as
  // open_image (errc::corrupt for bad bytes); serialize() gives the edited
  // file. For the few edits CernVM-FS makes in a stored database without
  // rebuilding it (a rollback's root catalog: its revision properties).
  static sqlite_db edit_image(byte_view image, std::string what, std::uint64_t limit = max_database_size);

  sqlite_db(sqlite_db&& o) noexcept : db_(o.db_), what_(std::move(o.what_)), reading_(o.reading_) { o.db_ = nullptr; }
  sqlite_db& operator=(sqlite_db&&) = delete;
  sqlite_db(const sqlite_db&) = delete;
  ~sqlite_db();

  // Runs SQL statements that return nothing of interest.
  void exec(const std::string& sql);
  sqlite_stmt prepare(std::string_view sql) const;
  // The whole database as the bytes of its file.
  bytes serialize() const;

  // True when table `name` exists as a table (not a view) in the schema.
  bool has_table(std::string_view name) const;
  // The column names of table `name`, in order.
  std::vector<std::string> columns(std::string_view name) const;
  // CernVM-FS's generic `properties` table (key TEXT, value TEXT) of every
  // one of its databases: created first, filled with schema and
  // schema_revision, then each database's own keys.
  void create_properties(const std::vector<std::pair<std::string, std::string>>& values);
  std::map<std::string, std::string> properties() const;
  // properties(), after checking that `schema` and `schema_revision` are
  // the ones given; bad() naming `kind` ("history", "reflog") otherwise.
  std::map<std::string, std::string> properties_of_schema(const std::string& kind, const std::string& schema,
                                                          const std::string& revision) const;

  const std::string& what() const { return what_; }
  // Throws the error class of this database (corrupt when reading) with
  // "<what>: <message>".
  [[noreturn]] void bad(const std::string& message) const;
  // As bad(), with SQLite's message for `rc` appended.
  [[noreturn]] void sqlite_failed(int rc, const std::string& doing) const;

 private:
  sqlite_db(sqlite3* db, std::string what, bool reading) : db_(db), what_(std::move(what)), reading_(reading) {}
  sqlite3* db_;
  std::string what_;
  bool reading_;
};

}  // namespace stratum::cvmfs
