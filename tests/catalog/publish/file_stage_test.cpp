// The file stage (catalog/publish/file_stage.hpp): one file read, stored and
// recorded; a file that changed since the scan; the memory a large file holds.
#include "catalog/publish/file_stage.hpp"
#include "io/compress.hpp"
#include "stage_fixture.hpp"

#include <fcntl.h>
#include <sys/xattr.h>
#include <thread>

using namespace stratum;
using namespace stratum::test;

namespace {

struct file_fixture : stage_fixture {
  temp_dir src;
  publish_options opt;
  budget memory{io.get_executor(), std::size_t(64) << 20};
  std::unique_ptr<file_reader> reader = make_file_reader(io, blocking, reader_kind::threads, 4, {});
  std::unique_ptr<file_stage> stage;
  file_fixture() {
    opt.source = src.path;
    stage = std::make_unique<file_stage>(run, *sink, *writes, *reader, memory, io, cpu, opt, stats);
  }
  file_job job_for(const std::string& name) {
    file_job n;
    n.path = name;
    REQUIRE(stat_at(AT_FDCWD, (src / name).c_str(), n.rec.st) == 0);
    n.rec.state = pj::file_state::pending;
    return n;
  }
};

}  // namespace

TEST_CASE("a file is read, its object stored and confirmed, and its record says done") {
  file_fixture f;
  write_file(f.src / "a", "alpha");
  auto n = f.job_for("a");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // past the racy window of its ctime
  run_io(f.io, [&] { return f.stage->process(n); });
  auto v = f.j->get(pj::entry_key("a"));
  REQUIRE(v);
  auto r = pj::decode_entry(*v, "a");
  CHECK(r.state == pj::file_state::done);
  REQUIRE(r.object);
  CHECK(*r.object == sha256(as_bytes("alpha")));
  CHECK(f.j->contains(pj::object_key(*r.object, object_kind::file)));
  CHECK(f.sink->claims() == 0);
  CHECK(f.stats.files_done == 1);
}

TEST_CASE("a file whose xattrs changed after the scan is published with the new ones") {
  file_fixture f;
  write_file(f.src / "f", "content");
  REQUIRE(::setxattr((f.src / "f").c_str(), "user.k", "old", 3, 0) == 0);
  auto n = f.job_for("f");
  n.rec.xattrs = {{"user.k", "old"}};  // as the scan saw them
  REQUIRE(::setxattr((f.src / "f").c_str(), "user.k", "new", 3, 0) == 0);  // moves ctime
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  run_io(f.io, [&] { return f.stage->process(n); });
  auto r = pj::decode_entry(*f.j->get(pj::entry_key("f")), "f");
  CHECK(r.state == pj::file_state::done);
  CHECK(r.xattrs == xattr_list{{"user.k", "new"}});
}

TEST_CASE("a file that vanished before its read is left out with a problem") {
  file_fixture f;
  write_file(f.src / "gone", "x");
  auto n = f.job_for("gone");
  ::unlink((f.src / "gone").c_str());
  run_io(f.io, [&] { return f.stage->process(n); });
  auto r = pj::decode_entry(*f.j->get(pj::entry_key("gone")), "gone");
  CHECK(r.state == pj::file_state::excluded);
  auto problems = f.run.problems();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].path == "gone");
}

TEST_CASE("a large file's lease covers its read buffer and the compressed chunk it holds") {
  chunk_params p;
  auto worst = deflate_object(random_bytes(p.max, 3), {});  // incompressible: stored blocks
  CHECK(worst.size() > p.max);
  CHECK(large_file_lease(p) >= p.max + worst.size());
}
