#include "storage/backend.hpp"
// The interface has no code of its own; this file anchors its vtable.
