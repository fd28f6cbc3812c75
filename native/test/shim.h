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
  int64_t size = 0, ino = 0, dev = 0, nlink = 0, uid = 0;
  int64_t blocks = 0;    // 512-byte units allocated (Windows: the allocation size / 512)
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

// ---- the path cases (path_cases.cc) set up with these and compare against them
// Plain file-system calls answering 0 or -errno as node:fs reports the same call on this platform: the
// system call's errno on POSIX; on Windows the Win32 error as libuv maps it (shim_win.cc lists the few the
// cases meet). They never throw.
int32_t plain_mkdir(const std::string& path);  // mode 0755 where modes mean something
int32_t plain_unlink(const std::string& path);
int32_t plain_rmdir(const std::string& path);
int32_t plain_rename(const std::string& from, const std::string& to);
// Whether something is at `path`, not following a final symbolic link (a dangling link exists).
bool exists(const std::string& path);
// The link itself, as lstat(2) describes it.
FileInfo lstat_path(const std::string& path);
FileInfo fstat_fd(int fd);
// A symbolic link at `link` to `target`. False (and *why_not set) where this process cannot make one
// (Windows without the privilege or developer mode).
bool make_symlink(const std::string& target, const std::string& link, std::string* why_not);
// The type bit a symbolic link's mode carries (S_IFLNK); 0120000 everywhere corio runs.
int64_t symlink_type_bits();
// The permission bits a directory made with `mode` ends up with (Windows: 0777, as libuv reports it).
int expected_dir_permissions(int mode);
// What a path through a regular file ("file/x") fails with: ENOTDIR on POSIX; ENOENT on Windows, where
// the system says ERROR_PATH_NOT_FOUND and node:fs (libuv) reports that as ENOENT.
int32_t through_file_errno();
// What rmdir of a regular file fails with: ENOTDIR on POSIX; ENOENT on Windows, where the system says
// ERROR_DIRECTORY and node:fs (libuv) reports that as ENOENT.
int32_t rmdir_file_errno();

// Whether this is Windows emulated by Wine (and which version, in *version): a few NTFS behaviours are the
// host file system's there, and a case that depends on one says so when it skips.
bool under_wine(std::string* version);

}  // namespace corio::test::shim
