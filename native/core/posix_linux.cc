// Linux halves of the platform hooks declared in posix_ops.h. The build's Linux file list selects this file
// (binding.gyp, native/test/build.sh); macOS has its own, so posix_ops.cc stays free of platform #ifdefs.
#include <fcntl.h>

#include <cerrno>

#include "posix_ops.h"

namespace corio {

int32_t platform_fallocate(int fd, int64_t offset, int64_t length, bool keep_size) {
  // fallocate(2) rather than posix_fallocate(3): glibc's posix_fallocate, on a file system without
  // fallocate support, "emulates" it by writing a byte into every block, which is slow, not atomic, and
  // cannot keep the size. We report EOPNOTSUPP instead, as io_uring's IORING_OP_FALLOCATE does, so both
  // Linux backends give the same answer. Mode 0 grows the file to offset + length like posix_fallocate.
  int r = ::fallocate(fd, keep_size ? FALLOC_FL_KEEP_SIZE : 0, off_t(offset), off_t(length));
  return r == 0 ? 0 : -errno;
}

}  // namespace corio
