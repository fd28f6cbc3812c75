// macOS halves of the platform hooks declared in posix/ops.h (linux/posix.cc has the Linux ones). The
// build's macOS file list selects this file (binding.gyp, CMakeLists.txt, native/test/build.sh).
//
// Not built or run on the machine this was written on (Linux): checked to compile against a stand-in for
// the macOS declarations it uses. See README "Platforms".
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
  if (!S_ISREG(st.st_mode)) return S_ISDIR(st.st_mode) ? -EISDIR : -ENODEV;
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
