#include "worker/fbs/pipe_writer.h"

#include <memory>
#include <vector>

namespace sb::ipc {
namespace {

// A write in flight owns its bytes until libuv is done with them.
struct WriteRequest {
  uv_write_t req;
  std::vector<uint8_t> data;
  QueuedWriteFailedFn on_failed;
};

void OnWriteDone(uv_write_t* req, int status) {
  std::unique_ptr<WriteRequest> owned(static_cast<WriteRequest*>(req->data));
  if (status < 0 && status != UV_ECANCELED) owned->on_failed(status);
}

}  // namespace

int WriteInOrder(uv_stream_t* stream, absl::Span<const uint8_t> bytes,
                 QueuedWriteFailedFn on_failed) {
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(bytes.data())),
                             static_cast<unsigned int>(bytes.size()));
  // Fast path: the kernel takes it all now. uv_try_write refuses (EAGAIN) while writes are
  // queued, which keeps frames in order.
  int written = uv_try_write(stream, &buf, 1);
  if (written == static_cast<int>(bytes.size())) return 0;
  if (written < 0 && written != UV_EAGAIN) return written;
  auto request = std::make_unique<WriteRequest>();
  request->data.assign(bytes.begin() + (written > 0 ? written : 0), bytes.end());
  request->req.data = request.get();
  request->on_failed = on_failed;
  buf = uv_buf_init(reinterpret_cast<char*>(request->data.data()),
                    static_cast<unsigned int>(request->data.size()));
  if (int rc = uv_write(&request->req, stream, &buf, 1, OnWriteDone); rc < 0) return rc;
  request.release();  // OnWriteDone frees it
  return 0;
}

}  // namespace sb::ipc
