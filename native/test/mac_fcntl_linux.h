// Linux stand-in for the macOS-only fcntl(F_PREALLOCATE) API that native/core/mac/posix.cc uses, so the macOS
// sources build against libkqueue on Linux (scripts/test-kqueue.sh). Force-included (g++ -include) into
// mac/posix.cc ONLY. Values and struct layout follow macOS <sys/fcntl.h>. F_PEOFPOSMODE ("from the physical
// end of file") is emulated with fallocate(FALLOC_FL_KEEP_SIZE) from the current logical size, which is what
// mac/posix.cc assumes the physical end to be. Like XNU (bsd/kern/kern_descrip.c), F_PREALLOCATE on a
// descriptor that is not a vnode, or not open for writing, fails with EBADF. CORIO_COMPAT_NO_CONTIG=1 makes
// F_ALLOCATECONTIG requests fail with ENOSPC, so the non-contiguous fallback can be exercised.
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>

#define F_ALLOCATECONTIG 0x00000002
#define F_ALLOCATEALL 0x00000004
#define F_PEOFPOSMODE 3
#define F_VOLPOSMODE 4
#define F_PREALLOCATE 42

typedef struct fstore {
  unsigned int fst_flags;
  int fst_posmode;
  off_t fst_offset;
  off_t fst_length;
  off_t fst_bytesalloc;
} fstore_t;

static inline int corio_mac_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  if (cmd == F_PREALLOCATE) {
    fstore_t* st = va_arg(ap, fstore_t*);
    va_end(ap);
    struct stat sb;
    if (::fstat(fd, &sb) != 0) return -1;
    // XNU checks these two first: a pipe or socket is not a vnode, and the descriptor must be writable.
    if (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode) || (::fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY) {
      errno = EBADF;
      return -1;
    }
    if (st->fst_posmode != F_PEOFPOSMODE || st->fst_offset != 0 || st->fst_length < 0) { errno = EINVAL; return -1; }
    if ((st->fst_flags & F_ALLOCATECONTIG) && std::getenv("CORIO_COMPAT_NO_CONTIG")) { errno = ENOSPC; return -1; }
    if (st->fst_length == 0) { st->fst_bytesalloc = 0; return 0; }
    if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, sb.st_size, st->fst_length) != 0) return -1;
    st->fst_bytesalloc = st->fst_length;
    return 0;
  }
  if (cmd == F_GETFL || cmd == F_GETFD) {  // take no argument: reading one would be undefined
    va_end(ap);
    return ::fcntl(fd, cmd);
  }
  long arg = va_arg(ap, long);  // every other command mac/posix.cc could pass takes an int or a pointer
  va_end(ap);
  return ::fcntl(fd, cmd, arg);
}
#define fcntl corio_mac_fcntl
