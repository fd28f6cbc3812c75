// macOS halves of the platform hooks declared in posix/ops.h (linux/posix.cc has the Linux ones). The
// build's macOS file list selects this file (binding.gyp, CMakeLists.txt, native/test/build.sh).
//
// Never run on macOS itself: built and run on Linux against libkqueue, with native/test/mac_fcntl_linux.h
// standing in for F_PREALLOCATE (scripts/test-kqueue.sh). See README "Platforms".
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "../posix/ops.h"

namespace corio {

int32_t platform_fallocate(int fd, int64_t offset, int64_t length, bool keep_size) {
  // macOS has no fallocate(2) and no posix_fallocate(3). F_PREALLOCATE reserves blocks past the physical
  // end of the file (F_PEOFPOSMODE) without changing its size; asking for more than is missing only
  // over-reserves. Contiguous first (faster to read back), any blocks if that fails. Mode 0 then grows
  // the size to offset + length like posix_fallocate; keep-size leaves it (FALLOC_FL_KEEP_SIZE).
  if (offset < 0 || length <= 0 || offset > INT64_MAX - length) return -EINVAL;
  struct stat st;
  if (::fstat(fd, &st) != 0) return -errno;
  // XNU's F_PREALLOCATE answers EBADF for a pipe or socket and for a read-only descriptor: fcntl's
  // F_PREALLOCATE case in bsd/kern/kern_descrip.c (apple-oss-distributions/xnu) fails with EBADF first when
  // the file is not DTYPE_VNODE, then when it lacks FWRITE, before it reads the fstore_t. corio reports what
  // Linux's fallocate(2), POSIX posix_fallocate and corio's IOCP backend report instead, so one program sees
  // one error everywhere: ESPIPE for a pipe, FIFO or socket, ENODEV for any other file that is not regular,
  // EBADF when not open for writing — checked here, before the size shortcut below, so a read-only
  // descriptor fails even when nothing would be allocated. The pipe case is checked before fcntl(F_GETFL)
  // runs, so a write end gets ESPIPE, as native/test/path_cases.cc's fallocate errors case expects.
  if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) return -ESPIPE;
  if (S_ISDIR(st.st_mode)) return -EISDIR;
  if (!S_ISREG(st.st_mode)) return -ENODEV;
  const int access = ::fcntl(fd, F_GETFL);
  if (access == -1) return -errno;
  if ((access & O_ACCMODE) == O_RDONLY) return -EBADF;
  const off_t end = off_t(offset + length);
  if (end <= st.st_size) return 0;  // already inside the file: its blocks exist or are sparse by choice
  fstore_t store = {F_ALLOCATECONTIG | F_ALLOCATEALL, F_PEOFPOSMODE, 0, end - st.st_size, 0};
  if (::fcntl(fd, F_PREALLOCATE, &store) == -1) {
    store.fst_flags = F_ALLOCATEALL;
    if (::fcntl(fd, F_PREALLOCATE, &store) == -1) return -errno;
  }
  if (!keep_size && ::ftruncate(fd, end) != 0) return -errno;
  return 0;
}

long platform_stat(int fd, const char* path, bool no_follow, StatResult* out) {
  // macOS's struct stat carries the birth time (st_birthtimespec): fill_stat_result reads it.
  struct stat st;
  int r = path == nullptr ? ::fstat(fd, &st) : no_follow ? ::lstat(path, &st) : ::stat(path, &st);
  if (r != 0) return -1;
  fill_stat_result(out, &st);
  return 0;
}

}  // namespace corio
