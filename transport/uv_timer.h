// TEMPORARY during a merge: the timer moved to base/uv_timer.h.
#pragma once
#include "base/uv_timer.h"
namespace sb::transport {
using UvTimer = ::sb::UvTimer;
}
