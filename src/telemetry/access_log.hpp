#pragma once
// The access log: one line per request, buffered per thread and written in batches.
//
// Writing each line through a logger costs a lock and often a futex wake per request; like
// nginx's `access_log ... buffer=`, lines are appended to the calling thread's buffer and
// written with one write(2) when the buffer passes `flush_bytes`, when the owner calls
// FlushThisThread() (the gateway does so every second on each worker), and at shutdown.
// A crash loses at most that window of lines; usage records that must survive go to the ledger.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace meridian::telemetry {

class AccessLog {
 public:
  // `fd` is borrowed (not closed), e.g. 2 for stderr.
  explicit AccessLog(int fd, std::size_t flush_bytes = 16 * 1024);
  ~AccessLog();  // flushes every buffer
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // The calling thread's buffer; append one complete line ending in '\n', then call Commit().
  // Thread-safe: each thread has its own buffer.
  std::string& Buffer();
  // Writes the calling thread's buffer if it has passed flush_bytes.
  void Commit();
  // Writes the calling thread's buffer now.
  void FlushThisThread();
  // Writes every thread's buffer. Only when no other thread is appending (e.g. after the
  // workers have stopped).
  void FlushAll();

 private:
  struct ThreadBuffer {
    std::thread::id thread;
    std::string data;
  };
  ThreadBuffer& Mine();
  void Write(std::string& data);

  int fd_;
  std::size_t flush_bytes_;
  std::uint64_t id_;  // distinguishes instances in the thread-local lookup
  std::mutex mu_;     // guards buffers_ (registration only)
  std::vector<std::unique_ptr<ThreadBuffer>> buffers_;
};

}  // namespace meridian::telemetry
