// Setting up an io_uring instance: the probe that decides whether io_uring can serve here (and says why not),
// and the mapping of the shared rings. The policy of which kernel features are required lives here, once.
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "uring_ring.h"

namespace corio::uring {
namespace {

const char* errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EFAULT: return "EFAULT";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EACCES: return "EACCES";
    case EAGAIN: return "EAGAIN";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EBADF: return "EBADF";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENXIO: return "ENXIO";
    case EINTR: return "EINTR";
    default: return nullptr;
  }
}

// Why io_uring_setup refused, in words a user can act on.
std::string setup_refusal(int err, int disabled_sysctl) {
  std::string why = "io_uring_setup: " + errno_text(err);
  if (err == EPERM) {
    if (disabled_sysctl == 2) why += " (kernel.io_uring_disabled=2)";
    else if (disabled_sysctl == 1) why += " (kernel.io_uring_disabled=1 and this process is not in io_uring_group)";
    else why += " (blocked by seccomp, e.g. Docker's default profile, or io_uring_disabled=2)";
  } else if (err == ENOSYS) {
    why += " (kernel built without io_uring, or the syscall is filtered)";
  } else if (err == ENOMEM) {
    why += " (RLIMIT_MEMLOCK too low? kernels before 5.12 charge the rings to it)";
  }
  return why;
}

// -1: the sysctl does not exist (kernels before 6.6), else its value.
int read_io_uring_disabled() {
  int fd = ::open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[16] = {};
  ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  return n > 0 ? std::atoi(buf) : -1;
}

}  // namespace

std::string errno_text(int e) {
  const char* name = errno_name(e);
  return name ? std::string(name) : "errno " + std::to_string(e);
}

Ring::~Ring() {
  if (sqes != MAP_FAILED) ::munmap(sqes, sqes_len);
  if (cq_map != MAP_FAILED && cq_map != sq_map) ::munmap(cq_map, cq_map_len);
  if (sq_map != MAP_FAILED) ::munmap(sq_map, sq_map_len);
  if (fd >= 0) ::close(fd);
}

int Ring::map(const io_uring_params& p) {
  setup_flags = p.flags;
  features = p.features;
  sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  cq_map_len = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  // Since 5.4 both rings live in one mapping (IORING_FEAT_SINGLE_MMAP); map it once at the larger size.
  bool single = p.features & IORING_FEAT_SINGLE_MMAP;
  if (single) sq_map_len = cq_map_len = std::max(sq_map_len, cq_map_len);
  sq_map = ::mmap(nullptr, sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (sq_map == MAP_FAILED) return errno;
  if (single) {
    cq_map = sq_map;
  } else {
    cq_map = ::mmap(nullptr, cq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    if (cq_map == MAP_FAILED) return errno;
  }
  sqes_len = p.sq_entries * sizeof(io_uring_sqe);
  void* s = ::mmap(nullptr, sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (s == MAP_FAILED) return errno;
  sqes = static_cast<io_uring_sqe*>(s);

  auto* sq = static_cast<char*>(sq_map);
  sq_head = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
  sq_tail = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
  sq_flags = reinterpret_cast<unsigned*>(sq + p.sq_off.flags);
  sq_mask = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
  sq_entries = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_entries);
  // The SQ ring holds indexes into the SQE array. We fill SQEs in ring order, so the mapping is the
  // identity and is written once here rather than per submission.
  auto* array = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
  for (unsigned i = 0; i < sq_entries; i++) array[i] = i;

  auto* cq = static_cast<char*>(cq_map);
  cq_head = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
  cq_tail = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
  cq_mask = *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);
  cq_entries = *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_entries);
  cqes = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
  return 0;
}

// Creates the ring, maps it and checks every feature we rely on. Null + *reason when io_uring cannot serve.
Probed probe(const BackendOptions& options, const TestHooks& hooks, std::string* reason) {
  Probed out;
  if (options.force_uring_errno != 0) {
    *reason = setup_refusal(options.force_uring_errno, -1) + " (forced by options.force_uring_errno)";
    return out;
  }
  int disabled = read_io_uring_disabled();
  if (disabled == 2) {
    // Documented in Documentation/admin-guide/sysctl/kernel.rst: 2 refuses every io_uring_setup.
    *reason = setup_refusal(EPERM, disabled);
    return out;
  }

  uint32_t sq = std::clamp<uint32_t>(options.queue_depth, 1, kMaxSqEntries);
  // The CQ must hold every completion that can be outstanding: the in-flight cap plus our own requests.
  // Sizing it so (and at least twice the SQ, as NOTES.md advises) keeps the overflow list for rare bursts.
  uint64_t cq = 2ull * sq;
  if (!hooks.cq_exactly_twice_sq) {
    uint64_t need = uint64_t(std::max<uint32_t>(options.max_in_flight, 1)) + kInternalReserve;
    while (cq < need && cq < kMaxCqEntries) cq <<= 1;
  }
  cq = std::min<uint64_t>(cq, kMaxCqEntries);

  // Best flags first; older kernels reject flags they do not know with EINVAL. DEFER_TASKRUN (6.1, needs
  // SINGLE_ISSUER) runs completion work only when we ask for events, so io-wq completions do not interrupt
  // the loop thread between waits; COOP_TASKRUN (5.19) is the next best thing. SUBMIT_ALL (5.18) keeps
  // submitting after an SQE that fails early, so one bad descriptor cannot strand the rest of a batch.
  static const uint32_t attempts[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      0,
  };
  // A pollable ring (hosted mode, backend.h BackendOptions::pollable) must wake the epoll that watches it
  // by itself, for every kind of completion. DEFER_TASKRUN never does (measured: backend.h). COOP_TASKRUN
  // woke it for io-wq writes in that measurement, but it queues task work without interrupting the thread
  // (the kernel's TWA_SIGNAL_NO_IPI), and the eventfd reads armed in the ring for wake() and the readdir
  // helper complete through task work: not measured separately, so pollable rings take neither flag and
  // let task work interrupt the waiting thread, which posts the CQE at once.
  static const uint32_t pollable_attempts[] = {IORING_SETUP_SUBMIT_ALL, 0};
  const uint32_t* tries = options.pollable ? pollable_attempts : attempts;
  size_t count = options.pollable ? std::size(pollable_attempts) : std::size(attempts);
  size_t first = options.pollable ? 0 : size_t(std::clamp(hooks.first_setup_attempt, 0, 2));
  auto ring = std::make_unique<Ring>();
  io_uring_params p;
  int err = 0;
  for (size_t i = first; i < count; i++) {
    uint32_t flags = tries[i];
    std::memset(&p, 0, sizeof(p));
    p.flags = flags | IORING_SETUP_CQSIZE;
    p.cq_entries = uint32_t(cq);
    long fd = ::syscall(__NR_io_uring_setup, sq, &p);
    if (fd >= 0) {
      ring->fd = int(fd);
      err = 0;
      break;
    }
    err = errno;
    if (err != EINVAL) break;
  }
  if (ring->fd < 0) {
    *reason = setup_refusal(err, disabled);
    return out;
  }
  if (int e = ring->map(p)) {
    *reason = "mmap of the io_uring rings: " + errno_text(e);
    return out;
  }

  // Features: EXT_ARG (5.11) for timed waits inside io_uring_enter; NODROP so completions are never lost;
  // RW_CUR_POS so offset -1 means the file position (kCurrentPosition).
  struct {
    uint32_t bit;
    const char* name;
  } const features[] = {{IORING_FEAT_EXT_ARG, "IORING_FEAT_EXT_ARG"},
                        {IORING_FEAT_NODROP, "IORING_FEAT_NODROP"},
                        {IORING_FEAT_RW_CUR_POS, "IORING_FEAT_RW_CUR_POS"}};
  for (auto& f : features) {
    if (!(p.features & f.bit)) {
      *reason = std::string("kernel lacks ") + f.name;
      return out;
    }
  }

  // Opcodes: ask the kernel (IORING_REGISTER_PROBE, 5.6) instead of trusting version numbers, which
  // distribution kernels backport around.
  constexpr unsigned kProbeOps = 256;
  std::vector<unsigned char> buf(sizeof(io_uring_probe) + kProbeOps * sizeof(io_uring_probe_op), 0);
  auto* pr = reinterpret_cast<io_uring_probe*>(buf.data());
  if (::syscall(__NR_io_uring_register, ring->fd, IORING_REGISTER_PROBE, pr, kProbeOps) < 0) {
    *reason = "IORING_REGISTER_PROBE: " + errno_text(errno);
    return out;
  }
  auto supported = [&](unsigned op) { return op < pr->ops_len && (pr->ops[op].flags & IO_URING_OP_SUPPORTED); };
  struct {
    unsigned op;
    const char* name;
  } const required[] = {{IORING_OP_READ, "IORING_OP_READ"},     {IORING_OP_WRITE, "IORING_OP_WRITE"},
                        {IORING_OP_READV, "IORING_OP_READV"},   {IORING_OP_WRITEV, "IORING_OP_WRITEV"},
                        {IORING_OP_OPENAT, "IORING_OP_OPENAT"}, {IORING_OP_CLOSE, "IORING_OP_CLOSE"},
                        {IORING_OP_FSYNC, "IORING_OP_FSYNC"},   {IORING_OP_STATX, "IORING_OP_STATX"},
                        {IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"}};
  for (auto& r : required) {
    if (!supported(r.op)) {
      *reason = std::string("kernel lacks ") + r.name;
      return out;
    }
  }
  // Everything the required list covers is in the ring; these depend on the kernel. kReaddir has no
  // opcode at all (see launch()).
  for (OpCode op : {OpCode::kOpen, OpCode::kClose, OpCode::kRead, OpCode::kWrite, OpCode::kReadv, OpCode::kWritev,
                    OpCode::kFsync, OpCode::kFdatasync, OpCode::kFstat, OpCode::kStat})
    out.in_ring[size_t(op)] = true;
  out.in_ring[size_t(OpCode::kFtruncate)] = supported(kOpFtruncate) && !hooks.pretend_no_ftruncate;
  bool path_ops = !hooks.pretend_no_path_ops;
  out.in_ring[size_t(OpCode::kUnlink)] = path_ops && supported(IORING_OP_UNLINKAT);   // 5.11
  out.in_ring[size_t(OpCode::kRmdir)] = out.in_ring[size_t(OpCode::kUnlink)];         // UNLINKAT + AT_REMOVEDIR
  out.in_ring[size_t(OpCode::kRename)] = path_ops && supported(IORING_OP_RENAMEAT);   // 5.11
  out.in_ring[size_t(OpCode::kMkdir)] = path_ops && supported(IORING_OP_MKDIRAT);     // 5.15
  out.in_ring[size_t(OpCode::kFallocate)] = path_ops && supported(IORING_OP_FALLOCATE);  // 5.6
  std::string inline_ops;
  for (OpCode op : {OpCode::kFtruncate, OpCode::kUnlink, OpCode::kRename, OpCode::kMkdir, OpCode::kRmdir,
                    OpCode::kFallocate})
    if (!out.in_ring[size_t(op)]) inline_ops += std::string(inline_ops.empty() ? "" : " ") + op_name(op);

  // io-wq's worker cap (IORING_REGISTER_IOWQ_MAX_WORKERS, 5.15): CORIO_IOWQ_MAX_WORKERS=N caps the bounded
  // workers (regular-file work: buffered ext4 writes, creates, syncs) at N; unset leaves the kernel's limit
  // (the task's RLIMIT_NPROC, in practice as many as there is work). A measurement knob, not a default.
  // Measured (issue 16; 2026-12-02, Linux 6.18, ext4, 2 vCPUs shared with other work; 5 interleaved rounds,
  // medians, files/s or ops/s; unset / 1 / 2 / 4): W1 10k × 4 KiB files, 64 concurrent: 13.7k / 4.6k /
  // 12.6k / 11.9k; W2 128 MiB in 64 KiB, 8 in flight: 24.2k / 15.0k / 16.2k / 27.2k; W3 200k × 128 B,
  // 32 in flight: 533k / 511k / 568k / 469k (the last within its noise: those writes mostly run inline). No
  // cap beat the kernel's own limit on the create-heavy W1, which is what a cap was for: creates block in
  // ext4 and one worker per create in flight overlaps them. So the default stays unbounded.
  std::string iowq;
  if (const char* env = std::getenv("CORIO_IOWQ_MAX_WORKERS")) {
    char* end = nullptr;
    unsigned long n = std::strtoul(env, &end, 10);
    if (end != env && *end == '\0' && n > 0 && n <= 4096) {
      unsigned limits[2] = {unsigned(n), 0};  // [bounded, unbounded]; 0 leaves that one as it is
      if (::syscall(__NR_io_uring_register, ring->fd, IORING_REGISTER_IOWQ_MAX_WORKERS, limits, 2) == 0)
        iowq = ", io-wq bounded workers capped at " + std::to_string(n);
      else
        iowq = ", io-wq worker cap refused (" + errno_text(errno) + ")";
    }
  }

  struct utsname u;
  std::string kernel = ::uname(&u) == 0 ? u.release : "?";
  std::string mode = (p.flags & IORING_SETUP_DEFER_TASKRUN) ? "SINGLE_ISSUER+DEFER_TASKRUN"
                     : (p.flags & IORING_SETUP_COOP_TASKRUN) ? "COOP_TASKRUN"
                                                             : "plain";
  out.summary = "kernel " + kernel + ", " + mode + ", " + std::to_string(ring->sq_entries) + " SQ/" +
                std::to_string(ring->cq_entries) + " CQ entries, " +
                (inline_ops.empty() ? "every file opcode in ring" : "inline (no opcode): " + inline_ops) +
                ", readdir on a helper thread" + iowq;
  out.ring = std::move(ring);
  return out;
}

}  // namespace corio::uring
