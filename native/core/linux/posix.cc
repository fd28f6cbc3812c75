// Linux halves of the platform hooks declared in posix/ops.h. The build's Linux file list selects this file
// (binding.gyp, native/test/build.sh); macOS has its own, so posix/ops.cc stays free of platform #ifdefs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>

#include "backends.h"
#include "../posix/ops.h"

namespace corio {

int32_t platform_fallocate(int fd, int64_t offset, int64_t length, bool keep_size) {
  // fallocate(2) rather than posix_fallocate(3): glibc's posix_fallocate, on a file system without
  // fallocate support, "emulates" it by writing a byte into every block, which is slow, not atomic, and
  // cannot keep the size. We report EOPNOTSUPP instead, as io_uring's IORING_OP_FALLOCATE does, so both
  // Linux backends give the same answer. Mode 0 grows the file to offset + length like posix_fallocate.
  int r = ::fallocate(fd, keep_size ? FALLOC_FL_KEEP_SIZE : 0, off_t(offset), off_t(length));
  return r == 0 ? 0 : -errno;
}

long platform_stat(int fd, const char* path, bool no_follow, StatResult* out) {
  // statx rather than fstat/stat: struct stat has no birth time on Linux, statx does (where the file system
  // records it), and io_uring's IORING_OP_STATX reports it, so the pool asks the same question.
  struct statx x;
  int flags = AT_NO_AUTOMOUNT | (path == nullptr ? AT_EMPTY_PATH : 0) | (no_follow ? AT_SYMLINK_NOFOLLOW : 0);
  int r = ::statx(path == nullptr ? fd : AT_FDCWD, path == nullptr ? "" : path, flags,
                  STATX_BASIC_STATS | STATX_BTIME, &x);
  if (r != 0) return -1;
  fill_stat_from_statx(out, x);
  return 0;
}

void fill_stat_from_statx(StatResult* out, const struct statx& x) {
  auto ns = [](const struct statx_timestamp& t) { return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec; };
  // makedev() gives the same dev_t encoding glibc's fstat reports, so both backends agree on `dev`.
  out->dev = int64_t(makedev(x.stx_dev_major, x.stx_dev_minor));
  out->mode = x.stx_mode;
  out->nlink = x.stx_nlink;
  out->uid = x.stx_uid;
  out->gid = x.stx_gid;
  out->rdev = int64_t(makedev(x.stx_rdev_major, x.stx_rdev_minor));
  out->blksize = x.stx_blksize;
  out->ino = int64_t(x.stx_ino);
  out->size = int64_t(x.stx_size);
  out->blocks = int64_t(x.stx_blocks);
  out->atime_ns = ns(x.stx_atime);
  out->mtime_ns = ns(x.stx_mtime);
  out->ctime_ns = ns(x.stx_ctime);
  out->birthtime_ns = (x.stx_mask & STATX_BTIME) ? ns(x.stx_btime) : 0;
}

}  // namespace corio
