// doctest's main, with one guard: a filter that selects no test case fails
// the run. ctest passes each test's name as a filter, and a name CMake cuts
// short (at a ';') would otherwise run nothing and pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace {

int selected = -1;

struct count_selected : doctest::IReporter {
  explicit count_selected(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& s) override { selected = static_cast<int>(s.numTestCasesPassingFilters); }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

DOCTEST_REGISTER_LISTENER("count_selected", 1, count_selected);

int main(int argc, char** argv) {
  // Small listing pages, so the remote stores' page-following code runs
  // (read once by the backends; the stratum binary the tests start inherits it).
  ::setenv("STRATUM_LIST_PAGE", "14", 1);
  // The readers the tests start record the keys they trust
  // (catalog/read/trust.hpp) here, never in the account's own
  // ~/.config; one record per test process, removed at the end.
  char config[] = "/tmp/stratum-test-config-XXXXXX";
  const bool own_config = ::mkdtemp(config) != nullptr;
  if (own_config) ::setenv("XDG_CONFIG_HOME", config, 1);
  doctest::Context context(argc, argv);
  int rc = context.run();
  if (own_config) std::filesystem::remove_all(config);
  if (context.shouldExit()) return rc;
  if (rc == 0 && selected == 0) {
    std::fprintf(stderr, "no test case matches the filter: failing rather than passing vacuously\n");
    return 1;
  }
  return rc;
}
