#include "telemetry/access_log.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace meridian::telemetry {
namespace {

std::atomic<std::uint64_t> next_id{1};

struct ThreadSlot {
  std::uint64_t owner = 0;
  void* buffer = nullptr;
};
thread_local ThreadSlot tl_slot;

}  // namespace

AccessLog::AccessLog(int fd, std::size_t flush_bytes)
    : fd_(fd), flush_bytes_(flush_bytes), id_(next_id.fetch_add(1)) {}

AccessLog::~AccessLog() { FlushAll(); }

AccessLog::ThreadBuffer& AccessLog::Mine() {
  if (tl_slot.owner == id_) return *static_cast<ThreadBuffer*>(tl_slot.buffer);
  // Slow path: first use on this thread, or another AccessLog used the slot in between.
  std::lock_guard lock(mu_);
  ThreadBuffer* raw = nullptr;
  for (auto& buffer : buffers_) {
    if (buffer->thread == std::this_thread::get_id()) raw = buffer.get();
  }
  if (!raw) {
    auto buffer = std::make_unique<ThreadBuffer>();
    buffer->thread = std::this_thread::get_id();
    buffer->data.reserve(flush_bytes_ + 1024);
    raw = buffer.get();
    buffers_.push_back(std::move(buffer));
  }
  tl_slot = ThreadSlot{id_, raw};
  return *raw;
}

std::string& AccessLog::Buffer() { return Mine().data; }

void AccessLog::Commit() {
  auto& mine = Mine();
  if (mine.data.size() >= flush_bytes_) Write(mine.data);
}

void AccessLog::FlushThisThread() { Write(Mine().data); }

void AccessLog::FlushAll() {
  std::lock_guard lock(mu_);
  for (auto& buffer : buffers_) Write(buffer->data);
}

void AccessLog::Write(std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // nowhere to report a failing log destination; drop the batch
    }
    done += static_cast<std::size_t>(n);
  }
  data.clear();
}

}  // namespace meridian::telemetry
