// Windows blocking operations (win/ops.h). How POSIX semantics are met, operation by operation:
//
//  open      CreateFileW from UTF-8, always FILE_FLAG_OVERLAPPED (so the completion port can take the
//            handle's reads and writes) and FILE_FLAG_BACKUP_SEMANTICS (so a directory opens read-only,
//            as open(2) allows). Share modes READ|WRITE|DELETE: POSIX lets others open, rename and unlink
//            an open file, and so do we. O_* flags are the C runtime's (_O_CREAT 0x100 …), which is what
//            Node's fs.constants has on Windows. A mode without 0200 (owner write) creates the file
//            read-only, as libuv does; the other bits have no Windows meaning.
//  close     CloseHandle through the descriptor table (win/fd.h).
//  read/write  On the calling thread: an overlapped handle gets an OVERLAPPED with its own event (low bit
//            set, so no packet reaches a completion port the handle may belong to) and an alertable wait,
//            which the pool's interrupt (an APC) ends so a cancel can CancelIoEx it. Writes loop on short
//            counts like posix/ops.cc; readv/writev go through one bounce buffer (Windows has no vectored
//            I/O for buffered files: WriteFileGather wants unbuffered, page-aligned pages).
//  fsync/fdatasync  FlushFileBuffers (Windows has no data-only flush for ordinary handles).
//  ftruncate SetFileInformationByHandle(FileEndOfFileInfo).
//  fstat/stat/lstat  GetFileInformationByHandle plus FileBasicInfo (ChangeTime) and FileAttributeTagInfo
//            (symbolic links); stat opens the path with FILE_READ_ATTRIBUTES only, lstat adds
//            FILE_FLAG_OPEN_REPARSE_POINT.
//  unlink    DeleteFileW; a read-only file is made writable first (unlink(2) needs only the directory).
//  rename    MoveFileExW(MOVEFILE_REPLACE_EXISTING): replaces the target like rename(2).
//  mkdir/rmdir  CreateDirectoryW (mode has no Windows meaning) / RemoveDirectoryW.
//  fallocate Extends the end of file (mode 0), or raises the allocation size (keep-size). NTFS zero-fills
//            lazily (valid data length), and may trim an allocation beyond the end of file when the last
//            handle closes: keep-size is a reservation for as long as the file is open.
//  readdir   FindFirstFileExW/FindNextFileW into the packed record format; reparse points that are
//            symbolic links or junctions report kDirentSymlink, as libuv does.
//
// Errors are the ones node:fs reports on Windows (libuv's mapping, checked against node.exe under Wine),
// not Linux's, where the two differ: a path through a file is ENOENT, unlink of a directory and access
// denied are EPERM, a read on a write-only handle is EBADF.
#include "ops.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <vector>

namespace corio::win {
namespace {

// POSIX file type bits. MinGW's <sys/stat.h> has no S_IFLNK, and Node's fs.constants on Windows uses
// these same numbers, so they are spelled out once here.
constexpr int64_t kIfReg = 0100000, kIfDir = 0040000, kIfLnk = 0120000, kIfIfo = 0010000,
                  kIfChr = 0020000;

constexpr int64_t kEpochDelta100ns = 116444736000000000LL;  // 1601-01-01 → 1970-01-01 in FILETIME units

int64_t filetime_ns(int64_t ft) { return (ft - kEpochDelta100ns) * 100; }
int64_t filetime_ns(const FILETIME& ft) {
  return filetime_ns(int64_t((uint64_t(ft.dwHighDateTime) << 32) | ft.dwLowDateTime));
}

bool stop_requested(const std::atomic<bool>* cancelled) {
  return cancelled && cancelled->load(std::memory_order_acquire);
}

int32_t last_errno() { return errno_from_win32(::GetLastError()); }

bool is_directory(const std::wstring& path) {
  DWORD attrs = ::GetFileAttributesW(path.c_str());
  return attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY);
}

// errno for a failed open of `path`. ERROR_PATH_NOT_FOUND stays ENOENT even when a component on the way
// is a file (POSIX says ENOTDIR): node:fs on Windows (libuv) says ENOENT there, and corio's errors are
// node:fs's on each platform. Access denied on a directory is EISDIR, as libuv's open reports it.
int32_t open_errno(DWORD error, const std::wstring& path) {
  if (error == ERROR_ACCESS_DENIED && is_directory(path)) return -EISDIR;
  return errno_from_win32(error);
}

int32_t open_file(const Submission& sub) {
  if (!sub.path) return -EFAULT;
  std::wstring path;
  if (!to_wide(sub.path, &path)) return -EINVAL;
  if (path.empty()) return -ENOENT;
  const int flags = sub.flags;
  DWORD access = 0;
  switch (flags & (O_RDONLY | O_WRONLY | O_RDWR)) {
    case O_RDONLY: access = GENERIC_READ; break;
    case O_WRONLY: access = GENERIC_WRITE; break;
    case O_RDWR: access = GENERIC_READ | GENERIC_WRITE; break;
    default: return -EINVAL;
  }
  const bool writes = access & GENERIC_WRITE;
  DWORD disposition;
  if ((flags & O_CREAT) && (flags & O_EXCL)) disposition = CREATE_NEW;
  else if ((flags & O_CREAT) && (flags & O_TRUNC)) disposition = CREATE_ALWAYS;
  else if (flags & O_CREAT) disposition = OPEN_ALWAYS;
  else if (flags & O_TRUNC) disposition = TRUNCATE_EXISTING;
  else disposition = OPEN_EXISTING;
  if (disposition == TRUNCATE_EXISTING && !writes) return -EINVAL;  // CreateFile refuses it too, vaguely
  DWORD attributes = FILE_ATTRIBUTE_NORMAL;
  if ((flags & O_CREAT) && !(sub.mode & 0200)) attributes = FILE_ATTRIBUTE_READONLY;
  HANDLE h = ::CreateFileW(path.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           nullptr, disposition,
                           attributes | FILE_FLAG_OVERLAPPED | FILE_FLAG_BACKUP_SEMANTICS, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD error = ::GetLastError();
    if (error == ERROR_FILE_EXISTS && disposition != CREATE_NEW) error = ERROR_ACCESS_DENIED;
    return open_errno(error, path);
  }
  int fd = fd_adopt(h, true, (flags & O_APPEND) != 0);
  if (fd < 0) {
    ::CloseHandle(h);
    return fd;
  }
  if (fd_get(fd)->directory && writes) {  // backup semantics opened a directory for writing: open(2) says no
    fd_close(fd);
    return -EISDIR;
  }
  return fd;
}

// One blocking transfer of at most `len` bytes; what ReadFile/WriteFile moved, or -errno.
int32_t transfer_once(FdEntry& e, bool write, char* data, uint32_t len, int64_t offset,
                      const std::atomic<bool>* cancelled) {
  DWORD n = 0;
  if (!e.overlapped) {
    // A synchronous handle (an anonymous pipe, a console): the kernel keeps its position. A positional
    // transfer names the offset in an OVERLAPPED, which moves the file pointer too (unlike pread).
    OVERLAPPED ov{};
    OVERLAPPED* pov = nullptr;
    if (offset != kCurrentPosition && e.kind == FdKind::kDisk) {
      ov.Offset = DWORD(uint64_t(offset));
      ov.OffsetHigh = DWORD(uint64_t(offset) >> 32);
      pov = &ov;
    }
    BOOL ok = write ? ::WriteFile(e.handle, data, len, &n, pov) : ::ReadFile(e.handle, data, len, &n, pov);
    return ok ? int32_t(n) : transfer_error(::GetLastError(), write);
  }
  HANDLE event = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (!event) return last_errno();
  OVERLAPPED ov{};
  uint64_t at = transfer_offset(e, write, offset);
  ov.Offset = DWORD(at);
  ov.OffsetHigh = DWORD(at >> 32);
  // The low bit keeps the completion off any port the handle is associated with (documented for
  // GetQueuedCompletionStatus): this thread waits on the event instead.
  ov.hEvent = HANDLE(uintptr_t(event) | 1);
  BOOL ok = write ? ::WriteFile(e.handle, data, len, nullptr, &ov) : ::ReadFile(e.handle, data, len, nullptr, &ov);
  DWORD error = ok ? ERROR_SUCCESS : ::GetLastError();
  if (!ok && error == ERROR_IO_PENDING) {
    bool cancel_sent = false;
    for (;;) {
      // Alertable: the pool's interrupt is an APC, which ends this wait with WAIT_IO_COMPLETION.
      DWORD w = ::WaitForSingleObjectEx(event, INFINITE, !cancel_sent);
      if (w == WAIT_OBJECT_0) break;
      if (w == WAIT_IO_COMPLETION) {
        if (stop_requested(cancelled) && !cancel_sent) {
          ::CancelIoEx(e.handle, &ov);  // the transfer ends with what it moved, or ERROR_OPERATION_ABORTED
          cancel_sent = true;
        }
        continue;
      }
      // WAIT_FAILED cannot happen on an event we own; do not return while the kernel may still write ov.
      ::CancelIoEx(e.handle, &ov);
      cancel_sent = true;
    }
    ok = ::GetOverlappedResult(e.handle, &ov, &n, FALSE);
    error = ok ? ERROR_SUCCESS : ::GetLastError();
  } else if (ok) {
    ::GetOverlappedResult(e.handle, &ov, &n, FALSE);
  }
  ::CloseHandle(event);
  if (ok) return int32_t(n);
  if (n > 0) return int32_t(n);  // cancelled part-way: bytes moved are never hidden (contract 2)
  return transfer_error(error, write);
}

int32_t do_read(FdEntry& e, char* data, uint32_t len, int64_t offset, const std::atomic<bool>* cancelled) {
  if (e.directory) return -EISDIR;
  if (stop_requested(cancelled)) return -ECANCELED;
  if (len == 0) return 0;
  int32_t r = transfer_once(e, false, data, len, offset, cancelled);
  if (r > 0 && offset == kCurrentPosition) advance_position(e, false, offset, uint32_t(r));
  return r;
}

int32_t do_write(FdEntry& e, const char* data, uint32_t len, int64_t offset, const std::atomic<bool>* cancelled) {
  if (e.directory) return -EISDIR;
  uint32_t done = 0;
  while (done < len) {
    if (stop_requested(cancelled)) return done > 0 ? int32_t(done) : -ECANCELED;
    int64_t at = offset == kCurrentPosition ? offset : offset + done;
    int32_t r = transfer_once(e, true, const_cast<char*>(data) + done, len - done, at, cancelled);
    if (r < 0) return done > 0 ? int32_t(done) : r;
    if (offset == kCurrentPosition) advance_position(e, true, offset, uint32_t(r));
    done += uint32_t(r);
    if (r == 0) break;  // a device that takes nothing: do not spin
  }
  return int32_t(done);
}

uint64_t iov_total(const IoVec* iov, uint32_t iovcnt) {
  uint64_t total = 0;
  for (uint32_t i = 0; i < iovcnt; i++) total += iov[i].len;
  return total;
}

int32_t do_readv(FdEntry& e, const IoVec* iov, uint32_t iovcnt, int64_t offset, const std::atomic<bool>* cancelled) {
  uint64_t total = iov_total(iov, iovcnt);
  if (total > uint64_t(INT32_MAX)) return -EINVAL;
  std::vector<char> bounce(total);
  int32_t r = do_read(e, bounce.data(), uint32_t(total), offset, cancelled);
  if (r <= 0) return r;
  size_t at = 0;
  for (uint32_t i = 0; i < iovcnt && at < size_t(r); i++) {
    size_t n = std::min(iov[i].len, size_t(r) - at);
    if (n) std::memcpy(iov[i].base, bounce.data() + at, n);
    at += n;
  }
  return r;
}

int32_t do_writev(FdEntry& e, const IoVec* iov, uint32_t iovcnt, int64_t offset, const std::atomic<bool>* cancelled) {
  uint64_t total = iov_total(iov, iovcnt);
  if (total > uint64_t(INT32_MAX)) return -EINVAL;
  std::vector<char> bounce;
  bounce.reserve(total);
  for (uint32_t i = 0; i < iovcnt; i++) {
    const char* p = static_cast<const char*>(iov[i].base);
    bounce.insert(bounce.end(), p, p + iov[i].len);
  }
  return do_write(e, bounce.data(), uint32_t(total), offset, cancelled);
}

int32_t set_end_of_file(HANDLE h, int64_t length) {
  FILE_END_OF_FILE_INFO info;
  info.EndOfFile.QuadPart = length;
  if (::SetFileInformationByHandle(h, FileEndOfFileInfo, &info, sizeof info)) return 0;
  DWORD error = ::GetLastError();
  return error == ERROR_ACCESS_DENIED ? -EINVAL : errno_from_win32(error);  // not open for writing
}

int32_t do_fallocate(FdEntry& e, int64_t offset, int64_t length, bool keep_size) {
  if (offset < 0 || length <= 0 || offset > INT64_MAX - length) return -EINVAL;
  if (e.kind != FdKind::kDisk) return -ESPIPE;
  if (e.directory) return -EISDIR;
  const int64_t end = offset + length;
  FILE_STANDARD_INFO st;
  if (!::GetFileInformationByHandleEx(e.handle, FileStandardInfo, &st, sizeof st)) return last_errno();
  if (!keep_size) {
    if (end <= st.EndOfFile.QuadPart) return 0;
    int32_t r = set_end_of_file(e.handle, end);
    return r == -EINVAL ? -EBADF : r;  // not open for writing: fallocate(2) says EBADF, ftruncate EINVAL
  }
  if (end <= st.AllocationSize.QuadPart) return 0;
  // Never lower it: an allocation size below the end of file truncates the file.
  FILE_ALLOCATION_INFO alloc;
  alloc.AllocationSize.QuadPart = end;
  if (::SetFileInformationByHandle(e.handle, FileAllocationInfo, &alloc, sizeof alloc)) return 0;
  DWORD error = ::GetLastError();
  return error == ERROR_ACCESS_DENIED ? -EBADF : errno_from_win32(error);
}

int32_t do_sync(FdEntry& e) {
  if (e.kind != FdKind::kDisk) return -EINVAL;  // fsync(2) on a pipe or a console
  if (::FlushFileBuffers(e.handle)) return 0;
  DWORD error = ::GetLastError();
  // A handle opened read-only may not flush; fsync(2) on a read-only descriptor succeeds. Nothing was
  // written through this handle, so there is nothing of its own to flush.
  return error == ERROR_ACCESS_DENIED ? 0 : errno_from_win32(error);
}

int32_t stat_path(const char* utf8, bool no_follow, StatResult* out) {
  if (!out) return -EFAULT;
  std::wstring path;
  if (!to_wide(utf8, &path)) return -EINVAL;
  if (path.empty()) return -ENOENT;
  DWORD flags = FILE_FLAG_BACKUP_SEMANTICS | (no_follow ? FILE_FLAG_OPEN_REPARSE_POINT : 0);
  HANDLE h = ::CreateFileW(path.c_str(), FILE_READ_ATTRIBUTES,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING, flags,
                           nullptr);
  if (h == INVALID_HANDLE_VALUE) return errno_from_win32(::GetLastError());
  int32_t r = stat_handle(h, out);
  ::CloseHandle(h);
  return r;
}

int32_t do_unlink(const char* utf8) {
  std::wstring path;
  if (!to_wide(utf8, &path)) return -EINVAL;
  if (path.empty()) return -ENOENT;
  if (::DeleteFileW(path.c_str())) return 0;
  DWORD error = ::GetLastError();
  if (error == ERROR_ACCESS_DENIED) {
    DWORD attrs = ::GetFileAttributesW(path.c_str());
    // A directory: EPERM, as node:fs on Windows says (libuv's unlink refuses directories so); Linux says
    // EISDIR, macOS EPERM, and POSIX allows both.
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY)) return -EPERM;
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_READONLY)) {
      ::SetFileAttributesW(path.c_str(), attrs & ~DWORD(FILE_ATTRIBUTE_READONLY));
      if (::DeleteFileW(path.c_str())) return 0;
      error = ::GetLastError();
      ::SetFileAttributesW(path.c_str(), attrs);  // put it back: the unlink failed after all
    }
  }
  return errno_from_win32(error);
}

int32_t do_rename(const char* from_utf8, const char* to_utf8) {
  std::wstring from, to;
  if (!to_wide(from_utf8, &from) || !to_wide(to_utf8, &to)) return -EINVAL;
  if (from.empty() || to.empty()) return -ENOENT;
  if (::MoveFileExW(from.c_str(), to.c_str(), MOVEFILE_REPLACE_EXISTING)) return 0;
  // A file over a directory or a directory over a full one is ERROR_ACCESS_DENIED: EPERM, as node:fs says.
  return errno_from_win32(::GetLastError());
}

int32_t do_mkdir(const char* utf8) {
  std::wstring path;
  if (!to_wide(utf8, &path)) return -EINVAL;
  if (path.empty()) return -ENOENT;
  if (::CreateDirectoryW(path.c_str(), nullptr)) return 0;
  return errno_from_win32(::GetLastError());
}

int32_t do_rmdir(const char* utf8) {
  std::wstring path;
  if (!to_wide(utf8, &path)) return -EINVAL;
  if (path.empty()) return -ENOENT;
  if (::RemoveDirectoryW(path.c_str())) return 0;
  DWORD error = ::GetLastError();
  // A file: Windows says ERROR_DIRECTORY ("the directory name is invalid"), and node:fs (libuv) reports
  // that as ENOENT, not POSIX's ENOTDIR (compared with node.exe under Wine); corio says what node:fs says.
  if (error == ERROR_DIRECTORY) return -ENOENT;
  return errno_from_win32(error);
}

uint8_t dirent_type(const WIN32_FIND_DATAW& d) {
  if (d.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
    // dwReserved0 holds the reparse tag when the attribute is set (FindFirstFile documentation).
    if (d.dwReserved0 == IO_REPARSE_TAG_SYMLINK || d.dwReserved0 == IO_REPARSE_TAG_MOUNT_POINT)
      return kDirentSymlink;
  }
  if (d.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) return kDirentDir;
  if (d.dwFileAttributes & FILE_ATTRIBUTE_DEVICE) return kDirentChar;
  return kDirentFile;
}

int32_t do_readdir(const char* utf8, void* buf, uint32_t len, const std::atomic<bool>* cancelled) {
  if (!buf && len > 0) return -EFAULT;
  std::wstring path;
  if (!to_wide(utf8, &path)) return -EINVAL;
  if (path.empty()) return -ENOENT;
  std::wstring pattern = path;
  if (pattern.back() != L'\\' && pattern.back() != L'/') pattern += L'\\';
  pattern += L'*';
  WIN32_FIND_DATAW d;
  HANDLE find = ::FindFirstFileExW(pattern.c_str(), FindExInfoBasic, &d, FindExSearchNameMatch, nullptr,
                                   FIND_FIRST_EX_LARGE_FETCH);
  if (find == INVALID_HANDLE_VALUE) {
    DWORD error = ::GetLastError();
    DWORD attrs = ::GetFileAttributesW(path.c_str());
    if (attrs != INVALID_FILE_ATTRIBUTES && !(attrs & FILE_ATTRIBUTE_DIRECTORY)) return -ENOTDIR;
    if (error == ERROR_FILE_NOT_FOUND && attrs != INVALID_FILE_ATTRIBUTES) return 0;  // empty (a drive root)
    return errno_from_win32(error);
  }
  auto* out = static_cast<uint8_t*>(buf);
  uint32_t used = 0;
  int32_t result = 0;
  for (;;) {
    if (stop_requested(cancelled)) {
      result = -ECANCELED;
      break;
    }
    const wchar_t* w = d.cFileName;
    bool dots = w[0] == L'.' && (w[1] == L'\0' || (w[1] == L'.' && w[2] == L'\0'));
    if (!dots) {
      std::string name = to_utf8(w, wcslen(w));
      if (uint64_t(len) - used < name.size() + 2) {  // one record: [type][name][NUL]; not fitting is the answer
        result = -ENOBUFS;
        break;
      }
      out[used] = dirent_type(d);
      std::memcpy(out + used + 1, name.c_str(), name.size() + 1);
      used += uint32_t(name.size() + 2);
    }
    if (!::FindNextFileW(find, &d)) {
      DWORD error = ::GetLastError();
      result = error == ERROR_NO_MORE_FILES ? int32_t(used) : errno_from_win32(error);
      break;
    }
  }
  ::FindClose(find);
  return result;
}

}  // namespace

int32_t errno_from_win32(DWORD error) {
  switch (error) {
    case ERROR_SUCCESS: return 0;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_INVALID_NAME:
    case ERROR_MOD_NOT_FOUND: return -ENOENT;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: return -EEXIST;
    // libuv (so node:fs) reports ERROR_ACCESS_DENIED as EPERM: "EPERM, rename" of a file another process
    // holds open is Windows' everyday answer. corio reports what node:fs would.
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD: return -EPERM;
    case ERROR_CANT_ACCESS_FILE:
    case ERROR_NOACCESS: return -EACCES;
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_PIPE_BUSY:
    case ERROR_BUSY: return -EBUSY;
    case ERROR_INVALID_HANDLE: return -EBADF;
    case ERROR_DIR_NOT_EMPTY: return -ENOTEMPTY;
    case ERROR_DIRECTORY: return -ENOTDIR;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL: return -ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY: return -ENOMEM;
    case ERROR_TOO_MANY_OPEN_FILES: return -EMFILE;
    case ERROR_INVALID_PARAMETER:
    case ERROR_NEGATIVE_SEEK:
    case ERROR_INVALID_FUNCTION: return -EINVAL;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED: return -EPIPE;
    case ERROR_OPERATION_ABORTED: return -ECANCELED;
    case ERROR_FILENAME_EXCED_RANGE: return -ENAMETOOLONG;
    case ERROR_NOT_SAME_DEVICE: return -EXDEV;
    case ERROR_WRITE_PROTECT: return -EROFS;
    // ENOTSUP, not EOPNOTSUPP: they are one number on Linux (node names it ENOTSUP) but two in the
    // Windows C runtime, and libuv (so node:fs) has only ENOTSUP.
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED: return -ENOTSUP;
    case ERROR_CANT_RESOLVE_FILENAME: return -ELOOP;
    case ERROR_SEM_TIMEOUT: return -ETIMEDOUT;
    case ERROR_HANDLE_EOF: return -EIO;  // callers that read turn it into 0 first (transfer_error)
    default: return -EIO;
  }
}

int32_t transfer_error(DWORD error, bool write) {
  if (!write && (error == ERROR_HANDLE_EOF || error == ERROR_BROKEN_PIPE)) return 0;
  if (error == ERROR_INVALID_FUNCTION) return -EISDIR;  // ReadFile/WriteFile on a directory handle
  // A read on a handle opened write-only (or the reverse): EBADF, as read(2) and node:fs on Windows say.
  if (error == ERROR_ACCESS_DENIED) return -EBADF;
  return errno_from_win32(error);
}

bool to_wide(const char* utf8, std::wstring* out) {
  out->clear();
  if (!utf8 || !*utf8) return utf8 != nullptr;
  int n = ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, nullptr, 0);
  if (n <= 0) return false;
  out->resize(size_t(n));
  ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, out->data(), n);
  out->resize(size_t(n - 1));  // drop the terminator the count included
  // Long absolute drive paths: the \\?\ prefix lifts MAX_PATH, and it wants backslashes only. Relative
  // and already-prefixed paths are left as they are (the prefix also turns off "." and ".." handling).
  const std::wstring& p = *out;
  if (p.size() >= 240 && p.size() > 2 && p[1] == L':' && (p[2] == L'\\' || p[2] == L'/')) {
    std::wstring long_path = L"\\\\?\\" + p;
    for (wchar_t& c : long_path)
      if (c == L'/') c = L'\\';
    *out = std::move(long_path);
  }
  return true;
}

std::string to_utf8(const wchar_t* wide, size_t len) {
  if (len == 0) return {};
  int n = ::WideCharToMultiByte(CP_UTF8, 0, wide, int(len), nullptr, 0, nullptr, nullptr);
  std::string s(size_t(n > 0 ? n : 0), '\0');
  if (n > 0) ::WideCharToMultiByte(CP_UTF8, 0, wide, int(len), s.data(), n, nullptr, nullptr);
  return s;
}

uint64_t transfer_offset(const FdEntry& e, bool write, int64_t offset) {
  if (e.kind != FdKind::kDisk) return 0;  // pipes and consoles have no position; Windows ignores it
  if (offset != kCurrentPosition) return uint64_t(offset);
  if (write && e.append) return ~uint64_t(0);  // 0xFFFFFFFF in both halves: "at the end of file"
  return uint64_t(e.position.load());
}

void advance_position(FdEntry& e, bool write, int64_t offset, uint32_t bytes) {
  if (offset != kCurrentPosition || e.kind != FdKind::kDisk) return;
  if (write && e.append) {
    LARGE_INTEGER size;  // write(2) with O_APPEND leaves the position at the new end of file
    if (::GetFileSizeEx(e.handle, &size)) e.position.store(size.QuadPart);
    return;
  }
  e.position.fetch_add(int64_t(bytes));
}

int32_t stat_handle(HANDLE h, StatResult* out) {
  StatResult r{};
  DWORD type = ::GetFileType(h);
  if (type != FILE_TYPE_DISK) {
    // Pipes and consoles have no file information; report the type as libuv does.
    r.mode = (type == FILE_TYPE_PIPE ? kIfIfo : kIfChr) | 0666;
    r.nlink = 1;
    r.blksize = 4096;
    *out = r;
    return 0;
  }
  BY_HANDLE_FILE_INFORMATION info;
  if (!::GetFileInformationByHandle(h, &info)) return last_errno();
  const bool readonly = info.dwFileAttributes & FILE_ATTRIBUTE_READONLY;
  bool link = false;
  if (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
    FILE_ATTRIBUTE_TAG_INFO tag;
    if (::GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof tag))
      link = tag.ReparseTag == IO_REPARSE_TAG_SYMLINK;
  }
  if (link) r.mode = kIfLnk | 0777;
  // Directories get no execute bits: libuv (so node:fs) reports them 0666, or 0444 when read-only.
  else if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) r.mode = kIfDir | (readonly ? 0444 : 0666);
  else r.mode = kIfReg | (readonly ? 0444 : 0666);
  r.dev = int64_t(info.dwVolumeSerialNumber);
  r.ino = int64_t((uint64_t(info.nFileIndexHigh) << 32) | info.nFileIndexLow);
  r.nlink = int64_t(info.nNumberOfLinks);
  r.size = int64_t((uint64_t(info.nFileSizeHigh) << 32) | info.nFileSizeLow);
  r.blksize = 4096;
  r.blocks = (r.size + 511) / 512;
  FILE_STANDARD_INFO st;
  if (::GetFileInformationByHandleEx(h, FileStandardInfo, &st, sizeof st))
    r.blocks = (st.AllocationSize.QuadPart + 511) / 512;
  r.atime_ns = filetime_ns(info.ftLastAccessTime);
  r.mtime_ns = filetime_ns(info.ftLastWriteTime);
  r.birthtime_ns = filetime_ns(info.ftCreationTime);
  r.ctime_ns = r.mtime_ns;  // the metadata change time, where the file system keeps one (below)
  FILE_BASIC_INFO basic;
  if (::GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic) && basic.ChangeTime.QuadPart > 0)
    r.ctime_ns = filetime_ns(basic.ChangeTime.QuadPart);
  *out = r;
  return 0;
}

int32_t run_blocking(const Submission& sub, const std::atomic<bool>* cancelled) {
  if (stop_requested(cancelled) && sub.op != OpCode::kClose) return -ECANCELED;
  switch (sub.op) {
    case OpCode::kOpen: return open_file(sub);
    case OpCode::kClose: return fd_close(sub.fd);  // never stopped: the descriptor goes either way
    case OpCode::kUnlink: return sub.path ? do_unlink(sub.path) : -EFAULT;
    case OpCode::kRename: return sub.path && sub.path2 ? do_rename(sub.path, sub.path2) : -EFAULT;
    case OpCode::kMkdir: return sub.path ? do_mkdir(sub.path) : -EFAULT;
    case OpCode::kRmdir: return sub.path ? do_rmdir(sub.path) : -EFAULT;
    case OpCode::kStat:
      if (sub.flags & ~kStatNoFollow) return -EINVAL;
      return sub.path ? stat_path(sub.path, sub.flags & kStatNoFollow, sub.stat) : -EFAULT;
    case OpCode::kReaddir: return sub.path ? do_readdir(sub.path, sub.buf, sub.len, cancelled) : -EFAULT;
    case OpCode::kCount: return -EINVAL;
    default: break;
  }
  // Everything else names a descriptor.
  std::shared_ptr<FdEntry> e = fd_get(sub.fd);
  if (!e) return -EBADF;
  switch (sub.op) {
    case OpCode::kRead: return do_read(*e, static_cast<char*>(sub.buf), sub.len, sub.offset, cancelled);
    case OpCode::kWrite: return do_write(*e, static_cast<const char*>(sub.buf), sub.len, sub.offset, cancelled);
    case OpCode::kReadv: return do_readv(*e, sub.iov, sub.iovcnt, sub.offset, cancelled);
    case OpCode::kWritev: return do_writev(*e, sub.iov, sub.iovcnt, sub.offset, cancelled);
    case OpCode::kFsync:
    case OpCode::kFdatasync: return do_sync(*e);
    case OpCode::kFtruncate:
      if (sub.offset < 0) return -EINVAL;
      if (e->kind != FdKind::kDisk || e->directory) return -EINVAL;
      return set_end_of_file(e->handle, sub.offset);
    case OpCode::kFstat:
      if (!sub.stat) return -EFAULT;
      return stat_handle(e->handle, sub.stat);
    case OpCode::kFallocate:
      if (sub.flags & ~kFallocKeepSize) return -EINVAL;
      return do_fallocate(*e, sub.offset, sub.length, sub.flags & kFallocKeepSize);
    default: return -EINVAL;
  }
}

}  // namespace corio::win

namespace corio {

double thread_cpu_ms() {
  FILETIME created, exited, kernel, user;
  if (!::GetThreadTimes(::GetCurrentThread(), &created, &exited, &kernel, &user)) return -1;
  auto ticks = [](const FILETIME& ft) { return double((uint64_t(ft.dwHighDateTime) << 32) | ft.dwLowDateTime); };
  return (ticks(kernel) + ticks(user)) / 1e4;  // 100 ns units → ms
}

}  // namespace corio
