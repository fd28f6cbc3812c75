#include "ops.h"

#include <cerrno>
#include <cstddef>
#include <climits>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

namespace corio {

static_assert(sizeof(IoVec) == sizeof(struct iovec), "IoVec must match struct iovec");
static_assert(offsetof(IoVec, base) == offsetof(struct iovec, iov_base), "IoVec.base");
static_assert(offsetof(IoVec, len) == offsetof(struct iovec, iov_len), "IoVec.len");

namespace {

int64_t to_ns(const struct timespec& ts) { return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec; }

// True once the owner asked this operation to stop. Checked at the top of every retry loop, so an EINTR
// or a short count caused by the cancel's signal ends the loop instead of blocking again.
bool stop_requested(const std::atomic<bool>* cancelled) {
  return cancelled && cancelled->load(std::memory_order_acquire);
}

// What a write reports when it stops on request: the bytes it moved (never hidden), else -ECANCELED.
int32_t stopped_write(uint64_t done) { return done > 0 ? int32_t(done) : -ECANCELED; }

// An offset on a descriptor that cannot seek (pipe, FIFO, socket, terminal) is ignored and the transfer
// happens as a stream, which is what io_uring does with the same request (the kernel skips the position for
// files without FMODE_PREAD/PWRITE). pread/pwrite answer ESPIPE there instead; retrying as read/write makes
// the pool agree with io_uring, so a caller that always passes positions (corio's FileHandle tracks its own)
// gets the same result on every backend.
// Positional or current-position single write, retried until all `len` bytes are written. `refused`
// (write_in_place's): instead of the stream fallback, a descriptor that cannot seek sets it and nothing is
// written.
int32_t write_all(int fd, const char* data, uint32_t len, int64_t offset, const std::atomic<bool>* cancelled,
                  bool* refused = nullptr) {
  uint32_t done = 0;
  while (done < len || len == 0) {
    if (stop_requested(cancelled)) return stopped_write(done);
    ssize_t n = offset == kCurrentPosition ? ::write(fd, data + done, len - done)
                                           : ::pwrite(fd, data + done, len - done, offset + done);
    if (n < 0) {
      if (errno == ESPIPE && offset != kCurrentPosition) {  // not seekable: a stream (see above)
        if (refused && done == 0) return *refused = true, 0;
        offset = kCurrentPosition;
        continue;
      }
      if (errno == EINTR) continue;  // the loop top decides: a cancel's signal stops, any other retries
      return done > 0 ? int32_t(done) : -errno;
    }
    done += uint32_t(n);
    if (n == 0 || len == 0) break;  // a zero-length write, or a device that takes nothing: do not spin
  }
  return int32_t(done);
}

int32_t writev_all(int fd, const IoVec* iov_in, uint32_t iovcnt, int64_t offset,
                   const std::atomic<bool>* cancelled, bool* refused = nullptr) {
  // Work on a local copy: a short write advances through the vector by editing entries.
  struct iovec local[IOV_MAX];
  if (iovcnt > IOV_MAX) return -EINVAL;
  uint64_t total = 0;
  for (uint32_t i = 0; i < iovcnt; i++) {
    local[i].iov_base = iov_in[i].base;
    local[i].iov_len = iov_in[i].len;
    total += iov_in[i].len;
  }
  struct iovec* iov = local;
  int count = int(iovcnt);
  uint64_t done = 0;
  for (;;) {
    if (stop_requested(cancelled)) return stopped_write(done);
    ssize_t n = offset == kCurrentPosition ? ::writev(fd, iov, count) : ::pwritev(fd, iov, count, offset + done);
    if (n < 0) {
      if (errno == ESPIPE && offset != kCurrentPosition) {  // not seekable: a stream
        if (refused && done == 0) return *refused = true, 0;
        offset = kCurrentPosition;
        continue;
      }
      if (errno == EINTR) continue;  // as in write_all
      return done > 0 ? int32_t(done) : -errno;
    }
    done += uint64_t(n);
    if (done >= total || n == 0) break;
    size_t skip = size_t(n);
    while (count > 0 && skip >= iov->iov_len) {
      skip -= iov->iov_len;
      iov++;
      count--;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + skip;
      iov->iov_len -= skip;
    }
  }
  return int32_t(done);
}

// One system call, repeated after EINTR unless the operation was cancelled meanwhile. Checking before the
// first call too means a cancel that arrived before the call started never starts it.
template <typename F>
int32_t retry(const std::atomic<bool>* cancelled, F call) {
  for (;;) {
    if (stop_requested(cancelled)) return -ECANCELED;
    long r = call();
    if (r >= 0) return int32_t(r);
    if (errno != EINTR) return -errno;
  }
}

uint8_t dirent_type(unsigned char d_type) {
  switch (d_type) {
    case DT_REG: return kDirentFile;
    case DT_DIR: return kDirentDir;
    case DT_LNK: return kDirentSymlink;
    case DT_FIFO: return kDirentFifo;
    case DT_SOCK: return kDirentSocket;
    case DT_CHR: return kDirentChar;
    case DT_BLK: return kDirentBlock;
    default: return kDirentUnknown;  // DT_UNKNOWN: the file system does not say; the caller may lstat
  }
}

}  // namespace

int32_t read_directory(const char* path, void* buf, uint32_t len, const std::atomic<bool>* cancelled) {
  if (!buf && len > 0) return -EFAULT;
  if (stop_requested(cancelled)) return -ECANCELED;
  DIR* dir = nullptr;
  for (;;) {
    dir = ::opendir(path);  // glibc and macOS libc open it O_CLOEXEC
    if (dir) break;
    if (errno != EINTR) return -errno;
    if (stop_requested(cancelled)) return -ECANCELED;
  }
  auto* out = static_cast<uint8_t*>(buf);
  uint32_t used = 0;
  int32_t result = 0;
  for (;;) {
    if (stop_requested(cancelled)) {
      result = -ECANCELED;
      break;
    }
    errno = 0;
    const struct dirent* e = ::readdir(dir);
    if (!e) {
      if (errno == 0) {
        result = int32_t(used);  // the end; len < 2^31 (binding), so used fits
        break;
      }
      if (errno != EINTR) {
        result = -errno;
        break;
      }
      // Interrupted part-way (a network file system): the directory offset is not trustworthy, so list
      // it again from the start rather than risk a duplicate or a gap. The loop top stops on a cancel.
      ::rewinddir(dir);
      used = 0;
      continue;
    }
    const char* name = e->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    size_t n = std::strlen(name);
    // One record: [type][name][NUL]. Not fitting is the whole answer (backend.h): the caller retries bigger.
    if (uint64_t(len) - used < n + 2) {
      result = -ENOBUFS;
      break;
    }
    out[used] = dirent_type(e->d_type);
    std::memcpy(out + used + 1, name, n + 1);
    used += uint32_t(n + 2);
  }
  ::closedir(dir);
  return result;
}

void fill_stat_result(StatResult* out, const void* posix_stat) {
  const struct stat& st = *static_cast<const struct stat*>(posix_stat);
  out->dev = int64_t(st.st_dev);
  out->mode = int64_t(st.st_mode);
  out->nlink = int64_t(st.st_nlink);
  out->uid = int64_t(st.st_uid);
  out->gid = int64_t(st.st_gid);
  out->rdev = int64_t(st.st_rdev);
  out->blksize = int64_t(st.st_blksize);
  out->ino = int64_t(st.st_ino);
  out->size = int64_t(st.st_size);
  out->blocks = int64_t(st.st_blocks);
#if defined(__APPLE__)
  out->atime_ns = to_ns(st.st_atimespec);
  out->mtime_ns = to_ns(st.st_mtimespec);
  out->ctime_ns = to_ns(st.st_ctimespec);
  out->birthtime_ns = to_ns(st.st_birthtimespec);
#else
  out->atime_ns = to_ns(st.st_atim);
  out->mtime_ns = to_ns(st.st_mtim);
  out->ctime_ns = to_ns(st.st_ctim);
  out->birthtime_ns = 0;  // struct stat has none on Linux; the io_uring statx path fills it when known
#endif
}

int32_t run_blocking(const Submission& sub, const std::atomic<bool>* cancelled) {
  switch (sub.op) {
    case OpCode::kOpen:
      return retry(cancelled, [&] { return long(::open(sub.path, sub.flags | O_CLOEXEC, sub.mode)); });
    case OpCode::kClose: {
      // Never retry close on EINTR: on Linux the descriptor is already released and may be reused.
      int r = ::close(sub.fd);
      return r == 0 ? 0 : (errno == EINTR ? 0 : -errno);
    }
    case OpCode::kRead: {
      int64_t offset = sub.offset;
      return retry(cancelled, [&] {
        long r = offset == kCurrentPosition ? ::read(sub.fd, sub.buf, sub.len) : ::pread(sub.fd, sub.buf, sub.len, offset);
        if (r < 0 && errno == ESPIPE && offset != kCurrentPosition) {  // not seekable: a stream
          offset = kCurrentPosition;
          r = ::read(sub.fd, sub.buf, sub.len);
        }
        return r;
      });
    }
    case OpCode::kWrite:
      return write_all(sub.fd, static_cast<const char*>(sub.buf), sub.len, sub.offset, cancelled);
    case OpCode::kReadv:
      if (sub.iovcnt > IOV_MAX) return -EINVAL;
      {
        int64_t offset = sub.offset;
        return retry(cancelled, [&] {
          auto iov = reinterpret_cast<const struct iovec*>(sub.iov);
          long r = offset == kCurrentPosition ? ::readv(sub.fd, iov, int(sub.iovcnt))
                                              : ::preadv(sub.fd, iov, int(sub.iovcnt), offset);
          if (r < 0 && errno == ESPIPE && offset != kCurrentPosition) {  // not seekable: a stream
            offset = kCurrentPosition;
            r = ::readv(sub.fd, iov, int(sub.iovcnt));
          }
          return r;
        });
      }
    case OpCode::kWritev:
      return writev_all(sub.fd, sub.iov, sub.iovcnt, sub.offset, cancelled);
    case OpCode::kFsync:
      return retry(cancelled, [&] { return long(::fsync(sub.fd)); });
    case OpCode::kFdatasync:
#if defined(__APPLE__)
      return retry(cancelled, [&] { return long(::fsync(sub.fd)); });  // macOS has no fdatasync in its libc headers
#else
      return retry(cancelled, [&] { return long(::fdatasync(sub.fd)); });
#endif
    case OpCode::kFtruncate:
      return retry(cancelled, [&] { return long(::ftruncate(sub.fd, sub.offset)); });
    case OpCode::kFstat:
      if (!sub.stat) return -EFAULT;
      return retry(cancelled, [&] { return platform_stat(sub.fd, nullptr, false, sub.stat); });
    case OpCode::kUnlink:
      return retry(cancelled, [&] { return long(::unlink(sub.path)); });
    case OpCode::kRename:
      return retry(cancelled, [&] { return long(::rename(sub.path, sub.path2)); });
    case OpCode::kMkdir:
      return retry(cancelled, [&] { return long(::mkdir(sub.path, mode_t(sub.mode))); });
    case OpCode::kRmdir:
      return retry(cancelled, [&] { return long(::rmdir(sub.path)); });
    case OpCode::kStat: {
      if (!sub.stat) return -EFAULT;
      if (sub.flags & ~kStatNoFollow) return -EINVAL;
      bool no_follow = sub.flags & kStatNoFollow;
      return retry(cancelled, [&] { return platform_stat(-1, sub.path, no_follow, sub.stat); });
    }
    case OpCode::kFallocate:
      if (sub.flags & ~kFallocKeepSize) return -EINVAL;
      return retry(cancelled, [&] {
        int32_t r = platform_fallocate(sub.fd, sub.offset, sub.length, sub.flags & kFallocKeepSize);
        if (r < 0) errno = -r;  // retry() reads errno, as for every other call here
        return long(r);
      });
    case OpCode::kReaddir:
      return read_directory(sub.path, sub.buf, sub.len, cancelled);
    case OpCode::kCount:
      break;
  }
  return -EINVAL;
}

double thread_cpu_ms() {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return -1;
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

bool write_in_place(const Submission& sub, int32_t* result) {
  bool refused = false;
  int32_t r = sub.op == OpCode::kWrite
                  ? write_all(sub.fd, static_cast<const char*>(sub.buf), sub.len, sub.offset, nullptr, &refused)
                  : writev_all(sub.fd, sub.iov, sub.iovcnt, sub.offset, nullptr, &refused);
  if (refused) return false;
  *result = r;
  return true;
}

}  // namespace corio
