// Ordered writes on a libuv stream, shared by both ends of the control pipe (worker/channel.cc
// and signaling/workers/worker_process.cc). What the kernel does not take at once is copied into
// a write request that owns the bytes until libuv's completion callback frees it. The stream is
// borrowed: its owner closes it, and writes still queued then complete with UV_ECANCELED.
#pragma once

#include <uv.h>

#include <cstdint>

#include "absl/types/span.h"

namespace sb::ipc {

// Told about a queued write that failed later (not one cancelled by closing the stream). The
// writer may be gone by then, so this is a plain function that gets only the libuv status.
using QueuedWriteFailedFn = void (*)(int status);

// Writes `bytes` (normally one frame from EncodeFrame) after whatever is already queued on
// `stream`. Returns 0 when they were written or queued, else the libuv error (UV_EPIPE: the
// reader closed its end); the stream is then broken and the caller should stop writing to it.
int WriteInOrder(uv_stream_t* stream, absl::Span<const uint8_t> bytes,
                 QueuedWriteFailedFn on_failed);

}  // namespace sb::ipc
