// Path operations every backend runs (issue 4): unlink, rename, mkdir, rmdir, stat/lstat, fallocate and
// readdir, each with its success and the errno of its usual failures, plus the FIFO read-open rule that
// open(2) sets and every backend must keep. Expected errnos are taken from the plain system call on a twin
// file where POSIX lets platforms differ (unlink of a directory: EISDIR on Linux, EPERM on macOS), so the
// cases state "same as the OS", not "same as Linux".
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness.h"

using namespace corio;
using corio::test::collect;
using corio::test::Context;
using corio::test::Failure;
using corio::test::run_one;

namespace {

std::string at(const Context& ctx, const std::string& name) { return ctx.scratch_dir + "/" + name; }

Submission path_op(OpCode op, uint32_t token, const std::string& path) {
  Submission s;
  s.op = op;
  s.token = token;
  s.path = path.c_str();
  return s;
}

int32_t unlink_path(Context& ctx, const std::string& path) { return run_one(ctx, path_op(OpCode::kUnlink, 1, path)); }
int32_t rmdir_path(Context& ctx, const std::string& path) { return run_one(ctx, path_op(OpCode::kRmdir, 2, path)); }

int32_t mkdir_path(Context& ctx, const std::string& path, int mode = 0755) {
  Submission s = path_op(OpCode::kMkdir, 3, path);
  s.mode = mode;
  return run_one(ctx, s);
}

int32_t rename_path(Context& ctx, const std::string& from, const std::string& to) {
  Submission s = path_op(OpCode::kRename, 4, from);
  s.path2 = to.c_str();
  return run_one(ctx, s);
}

int32_t stat_path(Context& ctx, const std::string& path, StatResult* out, bool no_follow = false) {
  Submission s = path_op(OpCode::kStat, 5, path);
  s.stat = out;
  s.flags = no_follow ? kStatNoFollow : 0;
  return run_one(ctx, s);
}

int32_t fallocate_fd(Context& ctx, int fd, int64_t offset, int64_t length, bool keep_size) {
  Submission s;
  s.op = OpCode::kFallocate;
  s.token = 6;
  s.fd = fd;
  s.offset = offset;
  s.length = length;
  s.flags = keep_size ? kFallocKeepSize : 0;
  return run_one(ctx, s);
}

int32_t readdir_into(Context& ctx, const std::string& path, std::vector<uint8_t>& buf, uint32_t len) {
  Submission s = path_op(OpCode::kReaddir, 7, path);
  s.buf = buf.data();
  s.len = len;
  return run_one(ctx, s);
}

// Decodes kReaddir records, failing on anything malformed: a record without its NUL, an empty name, a type
// outside the kDirent* range, "." or "..", or a name seen twice.
std::map<std::string, uint8_t> parse_dirents(const std::vector<uint8_t>& buf, int32_t used) {
  CHECK(used >= 0 && size_t(used) <= buf.size());
  std::map<std::string, uint8_t> out;
  size_t i = 0;
  while (i < size_t(used)) {
    uint8_t type = buf[i++];
    CHECK(type <= kDirentBlock);
    size_t start = i;
    while (i < size_t(used) && buf[i] != 0) i++;
    if (i == size_t(used)) throw Failure{"readdir record without its NUL at byte " + std::to_string(start)};
    std::string name(reinterpret_cast<const char*>(buf.data() + start), i - start);
    i++;  // the NUL
    CHECK(!name.empty() && name != "." && name != "..");
    if (!out.emplace(name, type).second) throw Failure{"readdir listed '" + name + "' twice"};
  }
  return out;
}

void touch(const std::string& path, const std::string& data = "") {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) throw Failure{"plain open " + path + ": " + std::strerror(errno)};
  bool ok = data.empty() || ::write(fd, data.data(), data.size()) == ssize_t(data.size());
  ::close(fd);
  if (!ok) throw Failure{"plain write " + path};
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string contents(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Failure{"plain open " + path + ": " + std::strerror(errno)};
  std::string data(4096, '\0');
  ssize_t n = ::read(fd, data.data(), data.size());
  ::close(fd);
  data.resize(n > 0 ? size_t(n) : 0);
  return data;
}

// What the plain call answered, as the contract's -errno.
int32_t plain(int r) { return r == 0 ? 0 : -errno; }

mode_t current_umask() {
  mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

}  // namespace

// ---- unlink ------------------------------------------------------------------------------------------

CORE_CASE("unlink removes a file; missing is ENOENT, through a file ENOTDIR, a directory as the OS says") {
  std::string file = at(ctx, "f");
  touch(file);
  CHECK_EQ(unlink_path(ctx, file), 0);
  CHECK(!exists(file));
  CHECK_EQ(unlink_path(ctx, file), -ENOENT);
  touch(file);
  CHECK_EQ(unlink_path(ctx, file + "/x"), -ENOTDIR);
  std::string dir = at(ctx, "d"), twin = at(ctx, "twin");
  CHECK(::mkdir(dir.c_str(), 0755) == 0 && ::mkdir(twin.c_str(), 0755) == 0);
  int32_t want = plain(::unlink(twin.c_str()));  // EISDIR on Linux, EPERM on macOS (POSIX allows both)
  CHECK(want == -EISDIR || want == -EPERM);
  CHECK_EQ(unlink_path(ctx, dir), want);
  CHECK(exists(dir));
}

CORE_CASE("unlink of a symbolic link removes the link, not its target") {
  std::string target = at(ctx, "target"), link = at(ctx, "link");
  touch(target, "kept");
  CHECK(::symlink(target.c_str(), link.c_str()) == 0);
  CHECK_EQ(unlink_path(ctx, link), 0);
  CHECK(!exists(link));
  CHECK(contents(target) == "kept");
}

// ---- rename ------------------------------------------------------------------------------------------

CORE_CASE("rename moves a file and replaces an existing target") {
  std::string a = at(ctx, "a"), b = at(ctx, "b"), c = at(ctx, "c");
  touch(a, "first");
  CHECK_EQ(rename_path(ctx, a, b), 0);
  CHECK(!exists(a));
  CHECK(contents(b) == "first");
  touch(c, "replacement");
  struct stat before;
  CHECK(::stat(c.c_str(), &before) == 0);
  CHECK_EQ(rename_path(ctx, c, b), 0);  // b existed: replaced in one step
  CHECK(!exists(c));
  CHECK(contents(b) == "replacement");
  struct stat after;
  CHECK(::stat(b.c_str(), &after) == 0);
  CHECK_EQ(uint64_t(after.st_ino), uint64_t(before.st_ino));  // the same inode, moved
}

CORE_CASE("rename errors: ENOENT, ENOTDIR, EISDIR, ENOTEMPTY as the OS says") {
  std::string file = at(ctx, "file"), dir = at(ctx, "dir"), full = at(ctx, "full");
  touch(file);
  CHECK(::mkdir(dir.c_str(), 0755) == 0 && ::mkdir(full.c_str(), 0755) == 0);
  touch(full + "/inside");
  CHECK_EQ(rename_path(ctx, at(ctx, "missing"), at(ctx, "x")), -ENOENT);
  CHECK_EQ(rename_path(ctx, file, at(ctx, "no-such-dir/x")), -ENOENT);
  CHECK_EQ(rename_path(ctx, file, file + "/x"), -ENOTDIR);
  CHECK_EQ(rename_path(ctx, file, dir), -EISDIR);    // a file over a directory
  CHECK_EQ(rename_path(ctx, dir, file), -ENOTDIR);   // a directory over a file
  std::string empty_twin = at(ctx, "twin"), full_twin = at(ctx, "full-twin");
  CHECK(::mkdir(empty_twin.c_str(), 0755) == 0 && ::mkdir(full_twin.c_str(), 0755) == 0);
  touch(full_twin + "/inside");
  int32_t want = plain(::rename(empty_twin.c_str(), full_twin.c_str()));  // ENOTEMPTY or EEXIST (POSIX)
  CHECK(want == -ENOTEMPTY || want == -EEXIST);
  CHECK_EQ(rename_path(ctx, dir, full), want);
  CHECK(exists(file) && exists(dir) && exists(full + "/inside"));
}

CORE_CASE("rename copies both paths before submit returns") {
  std::string a = at(ctx, "from"), b = at(ctx, "to");
  touch(a, "moved");
  std::string from = a, to = b;
  Submission s = path_op(OpCode::kRename, 9, from);
  s.path2 = to.c_str();
  ctx.backend->submit(s);
  // Change the caller's strings in place before the backend runs the operation: it must use its own
  // copies (contract 4). Only the last letter, so a backend that reads ours stays in the scratch folder
  // (".../frox" does not exist: ENOENT; ".../tx" would be a wrong target).
  from.back() = 'x';
  to.back() = 'x';
  auto got = collect(*ctx.backend, 1);
  CHECK_EQ(got[0].result, 0);
  CHECK(!exists(a));
  CHECK(contents(b) == "moved");
}

// ---- mkdir and rmdir ---------------------------------------------------------------------------------

CORE_CASE("mkdir creates a directory with the mode (less umask); EEXIST, ENOENT, ENOTDIR") {
  std::string dir = at(ctx, "made");
  CHECK_EQ(mkdir_path(ctx, dir, 0750), 0);
  struct stat st;
  CHECK(::stat(dir.c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK_EQ(int(st.st_mode & 07777), int(0750 & ~current_umask()));
  CHECK_EQ(mkdir_path(ctx, dir), -EEXIST);
  std::string file = at(ctx, "file");
  touch(file);
  CHECK_EQ(mkdir_path(ctx, file), -EEXIST);
  CHECK_EQ(mkdir_path(ctx, at(ctx, "missing/child")), -ENOENT);
  CHECK_EQ(mkdir_path(ctx, file + "/child"), -ENOTDIR);
}

CORE_CASE("rmdir removes an empty directory; ENOTEMPTY as the OS says, ENOENT, ENOTDIR") {
  std::string dir = at(ctx, "empty");
  CHECK(::mkdir(dir.c_str(), 0755) == 0);
  CHECK_EQ(rmdir_path(ctx, dir), 0);
  CHECK(!exists(dir));
  CHECK_EQ(rmdir_path(ctx, dir), -ENOENT);
  std::string full = at(ctx, "full"), twin = at(ctx, "twin");
  CHECK(::mkdir(full.c_str(), 0755) == 0 && ::mkdir(twin.c_str(), 0755) == 0);
  touch(full + "/inside");
  touch(twin + "/inside");
  int32_t want = plain(::rmdir(twin.c_str()));  // ENOTEMPTY on Linux and macOS; POSIX also allows EEXIST
  CHECK(want == -ENOTEMPTY || want == -EEXIST);
  CHECK_EQ(rmdir_path(ctx, full), want);
  CHECK(exists(full + "/inside"));
  std::string file = at(ctx, "file");
  touch(file);
  CHECK_EQ(rmdir_path(ctx, file), -ENOTDIR);
}

CORE_CASE("200 mkdirs then 200 rmdirs in one batch each complete once") {
  constexpr uint32_t kN = 200;
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < kN; i++) paths.push_back(at(ctx, "d" + std::to_string(i)));
  for (uint32_t i = 0; i < kN; i++) {
    Submission s = path_op(OpCode::kMkdir, i, paths[i]);
    s.mode = 0755;
    ctx.backend->submit(s);
  }
  std::set<uint32_t> seen;
  for (const Completion& c : collect(*ctx.backend, kN)) {
    CHECK(c.token < kN && seen.insert(c.token).second);
    CHECK_EQ(c.result, 0);
  }
  for (uint32_t i = 0; i < kN; i++) ctx.backend->submit(path_op(OpCode::kRmdir, kN + i, paths[i]));
  seen.clear();
  for (const Completion& c : collect(*ctx.backend, kN)) {
    CHECK(c.token >= kN && c.token < 2 * kN && seen.insert(c.token).second);
    CHECK_EQ(c.result, 0);
  }
  for (auto& p : paths) CHECK(!exists(p));
}

// ---- stat and lstat ----------------------------------------------------------------------------------

CORE_CASE("stat by path matches stat(2); missing is ENOENT, through a file ENOTDIR") {
  std::string file = at(ctx, "file");
  touch(file, "twelve bytes");
  StatResult got{};
  CHECK_EQ(stat_path(ctx, file, &got), 0);
  struct stat st;
  CHECK(::stat(file.c_str(), &st) == 0);
  CHECK_EQ(got.size, int64_t(12));
  CHECK_EQ(got.mode, int64_t(st.st_mode));
  CHECK_EQ(got.ino, int64_t(st.st_ino));
  CHECK_EQ(got.dev, int64_t(st.st_dev));
  CHECK_EQ(got.nlink, int64_t(st.st_nlink));
  CHECK_EQ(got.uid, int64_t(st.st_uid));
  CHECK_EQ(got.blocks, int64_t(st.st_blocks));
  CHECK_EQ(got.mtime_ns, int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  StatResult dir{};
  CHECK_EQ(stat_path(ctx, ctx.scratch_dir, &dir), 0);
  CHECK(S_ISDIR(mode_t(dir.mode)));
  CHECK_EQ(stat_path(ctx, at(ctx, "missing"), &got), -ENOENT);
  CHECK_EQ(stat_path(ctx, file + "/x", &got), -ENOTDIR);
}

CORE_CASE("stat follows a symbolic link, lstat (kStatNoFollow) describes the link itself") {
  std::string target = at(ctx, "target"), link = at(ctx, "link"), dangling = at(ctx, "dangling");
  touch(target, "0123456789");
  CHECK(::symlink(target.c_str(), link.c_str()) == 0);
  CHECK(::symlink(at(ctx, "nowhere").c_str(), dangling.c_str()) == 0);
  StatResult followed{}, itself{};
  CHECK_EQ(stat_path(ctx, link, &followed, false), 0);
  CHECK_EQ(stat_path(ctx, link, &itself, true), 0);
  struct stat t, l;
  CHECK(::stat(target.c_str(), &t) == 0 && ::lstat(link.c_str(), &l) == 0);
  CHECK(S_ISREG(mode_t(followed.mode)));
  CHECK_EQ(followed.ino, int64_t(t.st_ino));
  CHECK_EQ(followed.size, int64_t(10));
  CHECK(S_ISLNK(mode_t(itself.mode)));
  CHECK_EQ(itself.ino, int64_t(l.st_ino));
  CHECK_EQ(itself.size, int64_t(target.size()));  // a link's size is the length of what it points to
  StatResult d{};
  CHECK_EQ(stat_path(ctx, dangling, &d, false), -ENOENT);
  CHECK_EQ(stat_path(ctx, dangling, &d, true), 0);
  CHECK(S_ISLNK(mode_t(d.mode)));
}

CORE_CASE("stat with an unknown flag is EINVAL and writes nothing") {
  std::string file = at(ctx, "file");
  touch(file);
  StatResult got{};
  got.size = 12345;
  Submission s = path_op(OpCode::kStat, 5, file);
  s.stat = &got;
  s.flags = 2;
  CHECK_EQ(run_one(ctx, s), -EINVAL);
  CHECK_EQ(got.size, int64_t(12345));
}

// ---- fallocate ---------------------------------------------------------------------------------------

CORE_CASE("fallocate extends the file (mode 0) or only reserves blocks (keep size)") {
  std::string path = at(ctx, "alloc");
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  CHECK(fd >= 0);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  int32_t r = fallocate_fd(ctx, fd, 0, 1 << 20, false);
  if (r == -EOPNOTSUPP) SKIP("the scratch file system has no fallocate");
  CHECK_EQ(r, 0);
  struct stat st;
  CHECK(::fstat(fd, &st) == 0);
  CHECK_EQ(int64_t(st.st_size), int64_t(1 << 20));
  CHECK(int64_t(st.st_blocks) * 512 >= int64_t(1 << 20));
  int64_t blocks = st.st_blocks;

  CHECK_EQ(fallocate_fd(ctx, fd, 1 << 20, 1 << 20, true), 0);  // the next MiB, beyond the end
  CHECK(::fstat(fd, &st) == 0);
  CHECK_EQ(int64_t(st.st_size), int64_t(1 << 20));  // size kept
  CHECK(int64_t(st.st_blocks) >= blocks + (1 << 20) / 512);  // blocks reserved all the same

  CHECK_EQ(fallocate_fd(ctx, fd, 100, 50, false), 0);  // inside the file: no change of size
  CHECK(::fstat(fd, &st) == 0);
  CHECK_EQ(int64_t(st.st_size), int64_t(1 << 20));
}

CORE_CASE("fallocate errors: EBADF, EINVAL for length 0 or an unknown flag, EBADF/ESPIPE as the OS says") {
  std::string path = at(ctx, "alloc");
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  CHECK(fd >= 0);
  CHECK_EQ(fallocate_fd(ctx, 1 << 20, 0, 4096, false), -EBADF);
  int32_t zero = fallocate_fd(ctx, fd, 0, 0, false);
  if (zero == -EOPNOTSUPP) {
    ::close(fd);
    SKIP("the scratch file system has no fallocate");
  }
  CHECK_EQ(zero, -EINVAL);
  Submission s;
  s.op = OpCode::kFallocate;
  s.token = 6;
  s.fd = fd;
  s.offset = 0;
  s.length = 4096;
  s.flags = 4;
  CHECK_EQ(run_one(ctx, s), -EINVAL);
  int ro = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CHECK(ro >= 0);
  CHECK_EQ(fallocate_fd(ctx, ro, 0, 4096, false), -EBADF);  // not open for writing
  int p[2];
  CHECK(::pipe(p) == 0);
  CHECK_EQ(fallocate_fd(ctx, p[1], 0, 4096, false), -ESPIPE);
  ::close(p[0]);
  ::close(p[1]);
  ::close(ro);
  ::close(fd);
}

CORE_CASE("fallocate waits for writes submitted before it on the same descriptor (contract 8)") {
  std::string path = at(ctx, "ordered");
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  CHECK(fd >= 0);
  static char block[65536];
  std::memset(block, 'w', sizeof block);
  for (uint32_t i = 0; i < 16; i++) {
    Submission w;
    w.op = OpCode::kWrite;
    w.token = i;
    w.fd = fd;
    w.buf = block;
    w.len = sizeof block;
    w.offset = int64_t(i) * int64_t(sizeof block);
    ctx.backend->submit(w);
  }
  Submission f;
  f.op = OpCode::kFallocate;
  f.token = 100;
  f.fd = fd;
  f.offset = 0;
  f.length = 4096;  // inside what the writes make: with the writes first, the size stays 1 MiB
  ctx.backend->submit(f);
  for (const Completion& c : collect(*ctx.backend, 17)) {
    if (c.token == 100 && c.result == -EOPNOTSUPP) {
      ::close(fd);
      SKIP("the scratch file system has no fallocate");
    }
    CHECK_EQ(c.result, c.token == 100 ? 0 : int32_t(sizeof block));
  }
  struct stat st;
  CHECK(::fstat(fd, &st) == 0);
  CHECK_EQ(int64_t(st.st_size), int64_t(16 * sizeof block));
  ::close(fd);
}

// ---- readdir -----------------------------------------------------------------------------------------

CORE_CASE("readdir of an empty directory is 0 bytes; missing is ENOENT, a file ENOTDIR") {
  std::string dir = at(ctx, "empty");
  CHECK(::mkdir(dir.c_str(), 0755) == 0);
  std::vector<uint8_t> buf(4096, 0xee);
  CHECK_EQ(readdir_into(ctx, dir, buf, uint32_t(buf.size())), 0);
  CHECK_EQ(readdir_into(ctx, dir, buf, 0), 0);  // nothing to fit: even a zero-length buffer will do
  CHECK_EQ(readdir_into(ctx, at(ctx, "missing"), buf, uint32_t(buf.size())), -ENOENT);
  std::string file = at(ctx, "file");
  touch(file);
  CHECK_EQ(readdir_into(ctx, file, buf, uint32_t(buf.size())), -ENOTDIR);
}

CORE_CASE("readdir of one entry: the exact record, and -ENOBUFS one byte short of it") {
  std::string dir = at(ctx, "one");
  CHECK(::mkdir(dir.c_str(), 0755) == 0);
  touch(dir + "/hello.txt");
  std::vector<uint8_t> buf(64, 0xee);
  int32_t used = readdir_into(ctx, dir, buf, uint32_t(buf.size()));
  const char want[] = "\x01hello.txt";  // [kDirentFile]["hello.txt"][NUL]
  CHECK_EQ(used, int32_t(sizeof want));
  CHECK(std::memcmp(buf.data(), want, sizeof want) == 0);
  CHECK_EQ(buf[sizeof want], uint8_t(0xee));  // nothing written past the result
  CHECK_EQ(readdir_into(ctx, dir, buf, uint32_t(sizeof want)), int32_t(sizeof want));  // exactly fits
  CHECK_EQ(readdir_into(ctx, dir, buf, uint32_t(sizeof want) - 1), -ENOBUFS);
  CHECK_EQ(readdir_into(ctx, dir, buf, 4), -ENOBUFS);
}

CORE_CASE("readdir of 2,000 entries of every common type, and -ENOBUFS with a small buffer") {
  std::string dir = at(ctx, "many");
  CHECK(::mkdir(dir.c_str(), 0755) == 0);
  std::map<std::string, uint8_t> want;
  for (int i = 0; i < 1994; i++) {
    std::string name = "file-" + std::to_string(i);
    touch(dir + "/" + name);
    want[name] = kDirentFile;
  }
  for (int i = 0; i < 3; i++) {
    std::string name = "dir-" + std::to_string(i);
    CHECK(::mkdir((dir + "/" + name).c_str(), 0755) == 0);
    want[name] = kDirentDir;
  }
  CHECK(::symlink("file-0", (dir + "/link").c_str()) == 0);
  want["link"] = kDirentSymlink;
  CHECK(::symlink("nowhere", (dir + "/dangling").c_str()) == 0);  // listed all the same
  want["dangling"] = kDirentSymlink;
  CHECK(::mkfifo((dir + "/fifo").c_str(), 0600) == 0);
  want["fifo"] = kDirentFifo;
  CHECK_EQ(want.size(), size_t(2000));

  size_t need = 0;
  for (auto& [name, type] : want) need += name.size() + 2;
  std::vector<uint8_t> buf(need + 100);
  int32_t used = readdir_into(ctx, dir, buf, uint32_t(buf.size()));
  CHECK_EQ(used, int32_t(need));
  auto got = parse_dirents(buf, used);
  CHECK_EQ(got.size(), want.size());
  for (auto& [name, type] : want) {
    auto it = got.find(name);
    if (it == got.end()) throw Failure{"readdir did not list '" + name + "'"};
    // DT_UNKNOWN is allowed by the format (some file systems do not say); a known type must be right.
    if (it->second != kDirentUnknown && it->second != type)
      throw Failure{"'" + name + "' has type " + std::to_string(it->second) + ", want " + std::to_string(type)};
  }
  CHECK_EQ(readdir_into(ctx, dir, buf, 1024), -ENOBUFS);
  CHECK_EQ(readdir_into(ctx, dir, buf, uint32_t(need) - 1), -ENOBUFS);
}

// ---- opening a FIFO for reading ----------------------------------------------------------------------

CORE_CASE("open of a FIFO for reading waits for a writer, as open(2) does") {
  // io_uring's first attempt at an open does not block and would open a FIFO at once with no writer
  // (uring.cc, handle_cqe). A read from that descriptor would then report end of file straight away.
  std::string fifo = at(ctx, "fifo-r");
  CHECK(::mkfifo(fifo.c_str(), 0600) == 0);
  // On the way out (also after a failed check) a writer releases an open still blocked.
  struct Releaser {
    const std::string& path;
    ~Releaser() {
      int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) ::close(fd);
    }
  } releaser{fifo};
  Submission s = path_op(OpCode::kOpen, 1, fifo);
  s.flags = O_RDONLY;
  ctx.backend->submit(s);
  Completion out[4];
  CHECK_EQ(ctx.backend->wait(out, 4, 30), 0);  // still waiting for a writer, not opened
  // A reader is already there (open(2) counts itself before it waits), so a non-blocking writer opens.
  int wfd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  CHECK(wfd >= 0);
  auto got = collect(*ctx.backend, 1);
  CHECK(got[0].result >= 0);
  int rfd = got[0].result;
  CHECK(::write(wfd, "x", 1) == 1);
  char ch = 0;
  CHECK(::read(rfd, &ch, 1) == 1 && ch == 'x');
  CHECK((::fcntl(rfd, F_GETFL) & O_NONBLOCK) == 0);  // a blocking descriptor, as asked
  ::close(rfd);
  ::close(wfd);
}

CORE_CASE("open of a FIFO for reading with a writer present completes at once") {
  std::string fifo = at(ctx, "fifo-w");
  CHECK(::mkfifo(fifo.c_str(), 0600) == 0);
  int keep_r = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // lets the writer open
  CHECK(keep_r >= 0);
  int wfd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  CHECK(wfd >= 0);
  ::close(keep_r);
  Submission s = path_op(OpCode::kOpen, 1, fifo);
  s.flags = O_RDONLY;
  int32_t fd = run_one(ctx, s, 5000);
  CHECK(fd >= 0);
  CHECK(::write(wfd, "y", 1) == 1);
  char ch = 0;
  CHECK(::read(fd, &ch, 1) == 1 && ch == 'y');
  ::close(fd);
  ::close(wfd);
}
