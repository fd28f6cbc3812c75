// The few things the core cases do to the OS directly — to check a backend's work against plain system
// calls, and to make pipes and FIFOs for the cancellation cases — behind one interface, one file per
// platform: shim_posix.cc (Linux, macOS) and shim_win.cc (Windows, where descriptors come from corio's
// handle table, win/fd.h, so the backend under test can use them). The cases themselves carry no
// platform #ifdef; a case that needs what a platform lacks asks the shim and SKIPs with its reason.
//
// Every function throws corio::test::Failure when the OS refuses, with the call and the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace corio::test::shim {

// What the cases compare a backend's StatResult with.
struct FileInfo {
  bool regular = false;
  int64_t mode = 0;  // type and permission bits, as the platform's stat reports them
  int64_t size = 0, ino = 0, dev = 0, nlink = 0;
  int64_t mtime_ns = 0;  // nanoseconds since the epoch
};

FileInfo stat_path(const std::string& path);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& data);  // create or truncate, then write

// The permission bits a file created with `mode` ends up with: mode & ~umask on POSIX; on Windows the
// only bit that means anything is owner-write (0666, or 0444 for a read-only file).
int expected_permissions(int mode);

// A descriptor the backend under test accepts. `flags` are the host's O_* values without O_CLOEXEC
// (which the POSIX shim adds; Windows has no exec inheritance for these handles).
int open_fd(const std::string& path, int flags, int mode = 0644);
void close_fd(int fd);
// Blocking read/write at the current position; -1 on error (EOF is 0).
long read_fd(int fd, void* buf, size_t len);
long write_fd(int fd, const void* buf, size_t len);

// A pipe both of whose ends the backend accepts: fds[0] reads, fds[1] writes. On Windows a named pipe
// opened for overlapped I/O (an anonymous pipe cannot be), so the port can wait on it.
void make_pipe(int fds[2]);
// Bytes written into the pipe and not read yet, without consuming them (FIONREAD / PeekNamedPipe).
uint64_t pipe_buffered(int read_fd);

// Whether the bytes a cancelled pipe write had already moved stay in the pipe. POSIX: yes, a write(2)
// interrupted part-way returns a short count and the bytes are there. Windows (checked under Wine 8): a
// pending pipe write that is cancelled takes all of its bytes back, so it completes with -ECANCELED and
// the pipe holds none of them; both still complete exactly once and never hide what they wrote.
bool pipe_keeps_cancelled_bytes();

// A FIFO in the file system. False (and *why_not set) where there is none (Windows).
bool make_fifo(const std::string& path, std::string* why_not);
// Opens and closes a reader on the FIFO without blocking, releasing a writer blocked in open.
void release_fifo(const std::string& path);

// Writes to a pipe whose reader left fail with EPIPE instead of killing the process (SIGPIPE).
void ignore_sigpipe();

}  // namespace corio::test::shim
