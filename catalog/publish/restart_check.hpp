// After a machine restart: a store confirms a put before it is durable
// (backend.hpp: durable after sync()), so objects the interrupted run stored
// since its last sync may be gone or cut short (a power loss leaves
// zero-length files behind a rename). Each object this run recorded is
// looked up; the lost ones are forgotten, the files that name them are read
// again, and the run's catalogs are built again.
//
// Thread: the I/O thread, before the files stage.
#pragma once

#include "async/async.hpp"
#include "catalog/format/format.hpp"
#include "storage/backend.hpp"

#include <functional>

namespace stratum {

class run_state;

// Returns how many confirmed objects were lost.
awaitable<std::uint64_t> recheck_after_restart(run_state& run, backend& store, const format_writer& fmt,
                                               const std::function<void(const std::string&)>& log);

}  // namespace stratum
