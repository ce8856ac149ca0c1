// Named points where the crash tests kill the process.
//
// STRATUM_CRASH_AT=NAME:N makes the N-th pass through crash_point(NAME) send
// SIGKILL to the process itself: a real, uncatchable kill at a known place,
// so a test can stop a publish exactly between two steps (just before or just
// after the manifest is written, say) and check that it resumes. Without the
// variable, crash_point costs one relaxed atomic load.
// Thread: any.
#pragma once

namespace stratum {

void crash_point(const char* name);

}  // namespace stratum
