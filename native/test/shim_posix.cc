// shim.h on POSIX (Linux, macOS): plain system calls. pipe + FD_CLOEXEC rather than pipe2, which macOS
// lacks.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "harness.h"
#include "shim.h"

namespace corio::test::shim {
namespace {

[[noreturn]] void fail(const std::string& what) { throw Failure{what + ": " + std::strerror(errno)}; }

int64_t to_ns(const struct timespec& ts) { return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec; }

}  // namespace

static FileInfo info_of(const struct stat& st) {
  FileInfo info;
  info.regular = S_ISREG(st.st_mode);
  info.mode = int64_t(st.st_mode);
  info.size = int64_t(st.st_size);
  info.ino = int64_t(st.st_ino);
  info.dev = int64_t(st.st_dev);
  info.nlink = int64_t(st.st_nlink);
  info.uid = int64_t(st.st_uid);
  info.blocks = int64_t(st.st_blocks);
#if defined(__APPLE__)
  info.mtime_ns = to_ns(st.st_mtimespec);
#else
  info.mtime_ns = to_ns(st.st_mtim);
#endif
  return info;
}

FileInfo stat_path(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) fail("plain stat " + path);
  return info_of(st);
}

FileInfo lstat_path(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) fail("plain lstat " + path);
  return info_of(st);
}

FileInfo fstat_fd(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) fail("plain fstat " + std::to_string(fd));
  return info_of(st);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

int32_t plain_mkdir(const std::string& path) { return ::mkdir(path.c_str(), 0755) == 0 ? 0 : -errno; }
int32_t plain_unlink(const std::string& path) { return ::unlink(path.c_str()) == 0 ? 0 : -errno; }
int32_t plain_rmdir(const std::string& path) { return ::rmdir(path.c_str()) == 0 ? 0 : -errno; }
int32_t plain_rename(const std::string& from, const std::string& to) {
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : -errno;
}

bool make_symlink(const std::string& target, const std::string& link, std::string*) {
  if (::symlink(target.c_str(), link.c_str()) != 0) fail("symlink " + link);
  return true;
}

int64_t symlink_type_bits() { return S_IFLNK; }

int expected_dir_permissions(int mode) { return expected_permissions(mode); }

int32_t through_file_errno() { return -ENOTDIR; }

int32_t rmdir_file_errno() { return -ENOTDIR; }

bool under_wine(std::string*) { return false; }

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("plain open " + path);
  std::string data;
  char chunk[65536];
  for (;;) {
    ssize_t n = ::pread(fd, chunk, sizeof chunk, off_t(data.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(chunk, size_t(n));
  }
  ::close(fd);
  return data;
}

void write_file(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) fail("plain open " + path);
  bool ok = ::pwrite(fd, data.data(), data.size(), 0) == ssize_t(data.size());
  ::close(fd);
  if (!ok) fail("plain pwrite " + path);
}

int expected_permissions(int mode) {
  mode_t mask = ::umask(0);
  ::umask(mask);
  return mode & 0777 & ~int(mask);
}

int open_fd(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) fail("plain open " + path);
  return fd;
}

void close_fd(int fd) { ::close(fd); }

long read_fd(int fd, void* buf, size_t len) {
  for (;;) {
    ssize_t n = ::read(fd, buf, len);
    if (n >= 0 || errno != EINTR) return long(n);
  }
}

long write_fd(int fd, const void* buf, size_t len) {
  for (;;) {
    ssize_t n = ::write(fd, buf, len);
    if (n >= 0 || errno != EINTR) return long(n);
  }
}

void make_pipe(int fds[2]) {
  if (::pipe(fds) != 0) fail("pipe");
  ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
}

uint64_t pipe_buffered(int read_fd) {
  int n = 0;
  if (::ioctl(read_fd, FIONREAD, &n) != 0) fail("FIONREAD");
  return uint64_t(n);
}

bool make_fifo(const std::string& path, std::string*) {
  if (::mkfifo(path.c_str(), 0600) != 0) fail("mkfifo " + path);
  return true;
}

void release_fifo(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) ::close(fd);
}

void ignore_sigpipe() { ::signal(SIGPIPE, SIG_IGN); }

bool pipe_keeps_cancelled_bytes() { return true; }

}  // namespace corio::test::shim
