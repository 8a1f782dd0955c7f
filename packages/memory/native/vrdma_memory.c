// vrdma_memory: the little native code the process transport needs, in plain Node-API.
//
//   createMemfd(name, size) -> fd   anonymous shared memory, sealed against resizing so a
//                                   guest can never shrink it under the host (SIGBUS)
//   map(fd, size[, offset]) -> ArrayBuffer
//                                   a MAP_SHARED mapping of size bytes from a page-aligned offset
//                                   (a window of a larger file, a device's BAR through sysfs);
//                                   unmapped when the buffer is collected
//   memfdInfo(fd)                   size and seals of what a peer sent, checked before mapping
//   sendWithFds(socket, data, fds)  bytes and up to 8 descriptors (SCM_RIGHTS) in one sendmsg
//   receiveWithFds(socket, maxBytes, maxFds, timeoutMs) -> { data, fds }
//   connectUnix(path) -> fd         a connected AF_UNIX stream socket
//   setDumpable(on) / isDumpable()  prctl(PR_SET_DUMPABLE): whether /proc/<pid> is open to
//                                   other processes of the same user
//
// Memory travels between processes only as descriptors over a UNIX socket, never as a path.
// Every descriptor this file creates or receives is close-on-exec, and every error path
// closes what it opened. Errors from a system call carry errno's name as their `code`.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE ((size_t)1 << 31)
#define MAX_FDS 8
#define MAX_MESSAGE ((size_t)1 << 20)
#define SEND_WAIT_MS 1000

static napi_value fail(napi_env env, const char* what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, "TRANSPORT", message);
  return NULL;
}

static const char* errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name != NULL) return name;
#endif
  return "EUNKNOWN";
}

// A failed system call: the message says what and why, `code` is errno's name (ENOENT, ...).
static napi_value fail_errno(napi_env env, const char* what, int err) {
  char message[512];
  snprintf(message, sizeof message, "%s: %s (%s)", what, strerror(err), errno_name(err));
  napi_throw_error(env, errno_name(err), message);
  return NULL;
}

static void close_all(const int* fds, size_t count) {
  for (size_t i = 0; i < count; i++) close(fds[i]);
}

static int read_args(napi_env env, napi_callback_info info, napi_value* argv, size_t want) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "missing arguments");
    return 0;
  }
  return 1;
}

static int read_size(napi_env env, napi_value value, size_t* size) {
  int64_t n;
  if (napi_get_value_int64(env, value, &n) != napi_ok || n <= 0 || (size_t)n > MAX_SIZE) {
    napi_throw_range_error(env, NULL, "size must be 1 .. 2^31 bytes");
    return 0;
  }
  *size = (size_t)n;
  return 1;
}

static int read_fd(napi_env env, napi_value value, int* fd) {
  int32_t n;
  if (napi_get_value_int32(env, value, &n) != napi_ok || n < 0) {
    napi_throw_type_error(env, NULL, "fd must be a file descriptor");
    return 0;
  }
  *fd = n;
  return 1;
}

static int read_int(napi_env env, napi_value value, int64_t min, int64_t max, const char* what,
                    int64_t* out) {
  int64_t n;
  if (napi_get_value_int64(env, value, &n) != napi_ok || n < min || n > max) {
    char message[128];
    snprintf(message, sizeof message, "%s must be an integer in %lld .. %lld", what,
             (long long)min, (long long)max);
    napi_throw_range_error(env, NULL, message);
    return 0;
  }
  *out = n;
  return 1;
}

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

// Waits until `fd` is ready for `events` or `deadline` (now_ms) passes. Returns 1 when ready
// (or in error or hang-up: the next call reports it), 0 on timeout, -1 with errno set.
static int wait_until(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left < 0) left = 0;
    struct pollfd p = {.fd = fd, .events = events, .revents = 0};
    int n = poll(&p, 1, (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return 0;
    if (p.revents & POLLNVAL) {
      errno = EBADF;
      return -1;
    }
    return 1;
  }
}

static napi_value create_memfd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!read_args(env, info, argv, 2)) return NULL;
  char name[64];
  size_t length;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "name must be a string");
    return NULL;
  }
  size_t size;
  if (!read_size(env, argv[1], &size)) return NULL;
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return fail(env, "memfd_create", errno);
  if (ftruncate(fd, (off_t)size) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int err = errno;
    close(fd);
    return fail(env, "memfd sizing", err);
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static void unmap(napi_env env, void* data, void* hint) {
  (void)env;
  munmap(data, (size_t)hint);
}

static napi_value map(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "missing arguments");
    return NULL;
  }
  int fd;
  if (!read_fd(env, argv[0], &fd)) return NULL;
  size_t size;
  if (!read_size(env, argv[1], &size)) return NULL;
  // One file can hold several regions (a VM's one shared-memory device holds them all): the
  // offset picks a window, which mmap needs page-aligned.
  int64_t offset = 0;
  napi_valuetype offset_type = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &offset_type);
  if (offset_type != napi_undefined) {
    if (napi_get_value_int64(env, argv[2], &offset) != napi_ok || offset < 0 ||
        (size_t)offset > MAX_SIZE || offset % sysconf(_SC_PAGESIZE) != 0) {
      napi_throw_range_error(env, "OUT_OF_RANGE",
                             "offset must be a multiple of the page size, 0 .. 2^31");
      return NULL;
    }
  }
  // Mapping past the end of the file would fault on first touch: refuse it here instead.
  struct stat st;
  if (fstat(fd, &st) != 0) return fail(env, "fstat", errno);
  if ((size_t)st.st_size < (size_t)offset + size) {
    napi_throw_range_error(env, "OUT_OF_RANGE", "the file is smaller than the mapping asked for");
    return NULL;
  }
  void* data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
  if (data == MAP_FAILED) return fail(env, "mmap", errno);
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, data, size, unmap, (void*)size, &buffer) != napi_ok) {
    munmap(data, size);
    napi_throw_error(env, "TRANSPORT", "cannot wrap the mapping in an ArrayBuffer");
    return NULL;
  }
  return buffer;
}

// memfdInfo(fd) -> { size, seals, isMemfd }. isMemfd is whether the file takes seals
// (F_GET_SEALS does not fail with EINVAL): a memfd, or another shmem/hugetlbfs file.
static napi_value memfd_info(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!read_args(env, info, argv, 1)) return NULL;
  int fd;
  if (!read_fd(env, argv[0], &fd)) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0) return fail_errno(env, "fstat", errno);
  int seals = fcntl(fd, F_GET_SEALS);
  int is_memfd = 1;
  if (seals < 0) {
    if (errno != EINVAL) return fail_errno(env, "fcntl(F_GET_SEALS)", errno);
    seals = 0;
    is_memfd = 0;
  }
  napi_value result, size, seal_bits, memfd;
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_int64(env, S_ISREG(st.st_mode) ? (int64_t)st.st_size : 0, &size) != napi_ok ||
      napi_create_int32(env, seals, &seal_bits) != napi_ok ||
      napi_get_boolean(env, is_memfd && S_ISREG(st.st_mode), &memfd) != napi_ok ||
      napi_set_named_property(env, result, "size", size) != napi_ok ||
      napi_set_named_property(env, result, "seals", seal_bits) != napi_ok ||
      napi_set_named_property(env, result, "isMemfd", memfd) != napi_ok) {
    napi_throw_error(env, "TRANSPORT", "cannot build the memfdInfo result");
    return NULL;
  }
  return result;
}

// sendWithFds(socket, data, fds): the descriptors travel with the first byte. A stream socket
// may take fewer bytes than offered; the rest follows without descriptors.
static napi_value send_with_fds(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!read_args(env, info, argv, 3)) return NULL;
  int sock;
  if (!read_fd(env, argv[0], &sock)) return NULL;
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = NULL;
  if (napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "data must be a Uint8Array");
    return NULL;
  }
  if (length == 0) {
    napi_throw_range_error(env, NULL, "data must not be empty (descriptors travel with bytes)");
    return NULL;
  }
  bool is_array = false;
  uint32_t count = 0;
  if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[2], &count) != napi_ok) {
    napi_throw_type_error(env, NULL, "fds must be an array of file descriptors");
    return NULL;
  }
  if (count > MAX_FDS) {
    napi_throw_range_error(env, NULL, "at most 8 descriptors per message");
    return NULL;
  }
  int fds[MAX_FDS];
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    if (napi_get_element(env, argv[2], i, &element) != napi_ok) return NULL;
    if (!read_fd(env, element, &fds[i])) return NULL;
  }

  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = data, .iov_len = length};
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (count > 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
  }

  // The socket may be libuv's, hence non-blocking: wait for room, but not forever.
  int64_t deadline = now_ms() + SEND_WAIT_MS;
  size_t sent = 0;
  while (sent < length) {
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += (size_t)n;
      iov.iov_base = (char*)data + sent;
      iov.iov_len = length - sent;
      msg.msg_control = NULL;  // the descriptors went with the first bytes
      msg.msg_controllen = 0;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno(env, "sendmsg", errno);
    int ready = wait_until(sock, POLLOUT, deadline);
    if (ready < 0) return fail_errno(env, "poll", errno);
    if (ready == 0) {
      napi_throw_error(env, "ETIMEDOUT",
                       sent == 0 ? "sendmsg: the socket stayed full for 1 s; nothing was sent"
                                 : "sendmsg: the socket stayed full for 1 s; the message was cut");
      return NULL;
    }
  }
  return NULL;
}

// receiveWithFds(socket, maxBytes, maxFds, timeoutMs) -> { data, fds }. One recvmsg after the
// socket turns readable. Descriptors that cannot all be handed back are all closed.
static napi_value receive_with_fds(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!read_args(env, info, argv, 4)) return NULL;
  int sock;
  int64_t max_bytes, max_fds, timeout_ms;
  if (!read_fd(env, argv[0], &sock) ||
      !read_int(env, argv[1], 1, (int64_t)MAX_MESSAGE, "maxBytes", &max_bytes) ||
      !read_int(env, argv[2], 0, MAX_FDS, "maxFds", &max_fds) ||
      !read_int(env, argv[3], 0, INT32_MAX, "timeoutMs", &timeout_ms)) {
    return NULL;
  }

  int64_t deadline = now_ms() + timeout_ms;
  char* buffer = malloc((size_t)max_bytes);
  if (buffer == NULL) return fail_errno(env, "receiveWithFds", ENOMEM);
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct cmsghdr align;
  } control;
  struct iovec iov = {.iov_base = buffer, .iov_len = (size_t)max_bytes};
  struct msghdr msg;
  ssize_t n;
  for (;;) {
    int ready = wait_until(sock, POLLIN, deadline);
    if (ready <= 0) {
      int err = errno;
      free(buffer);
      if (ready < 0) return fail_errno(env, "poll", err);
      char message[128];
      snprintf(message, sizeof message, "no message arrived within %lld ms",
               (long long)timeout_ms);
      napi_throw_error(env, "ETIMEDOUT", message);
      return NULL;
    }
    memset(&msg, 0, sizeof msg);
    memset(&control, 0, sizeof control);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    // Room for max_fds descriptors (alignment may leave room for one more: counted below).
    msg.msg_control = max_fds > 0 ? control.buf : NULL;
    msg.msg_controllen = max_fds > 0 ? CMSG_SPACE(sizeof(int) * (size_t)max_fds) : 0;
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n >= 0) break;
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    int err = errno;
    free(buffer);
    return fail_errno(env, "recvmsg", err);
  }

  // Collect every descriptor the kernel installed, whatever else is wrong, so none leaks.
  int fds[sizeof control.buf / sizeof(int)];
  size_t count = 0;
  int malformed = 0;
  char* control_end = (char*)msg.msg_control + msg.msg_controllen;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
        cmsg->cmsg_len < CMSG_LEN(0)) {
      malformed = 1;  // only SCM_RIGHTS carries descriptors: nothing of ours to close here
      continue;
    }
    size_t payload = cmsg->cmsg_len - CMSG_LEN(0);
    if ((char*)CMSG_DATA(cmsg) + payload > control_end) {
      malformed = 1;
      payload = (size_t)(control_end - (char*)CMSG_DATA(cmsg));
    }
    if (payload % sizeof(int) != 0) malformed = 1;
    for (size_t i = 0; i < payload / sizeof(int) && count < sizeof fds / sizeof *fds; i++) {
      memcpy(&fds[count++], CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
    }
  }
  const char* code = NULL;
  const char* refusal = NULL;
  if ((msg.msg_flags & MSG_CTRUNC) || count > (size_t)max_fds) {
    code = "TOO_MANY_FDS";
    refusal = "more descriptors arrived than maxFds allows; all were closed";
  } else if (malformed) {
    code = "EPROTO";
    refusal = "a control message other than SCM_RIGHTS arrived; its descriptors were closed";
  } else if (n == 0) {
    code = "ECONNRESET";
    refusal = "the peer closed the socket";
  }
  if (refusal != NULL) {
    close_all(fds, count);
    free(buffer);
    napi_throw_error(env, code, refusal);
    return NULL;
  }

  napi_value result, array_buffer, bytes, fd_array;
  void* copy;
  int ok = napi_create_object(env, &result) == napi_ok &&
           napi_create_arraybuffer(env, (size_t)n, &copy, &array_buffer) == napi_ok;
  if (ok) {
    memcpy(copy, buffer, (size_t)n);
    ok = napi_create_typedarray(env, napi_uint8_array, (size_t)n, array_buffer, 0, &bytes) ==
             napi_ok &&
         napi_create_array_with_length(env, count, &fd_array) == napi_ok;
  }
  for (size_t i = 0; ok && i < count; i++) {
    napi_value fd;
    ok = napi_create_int32(env, fds[i], &fd) == napi_ok &&
         napi_set_element(env, fd_array, (uint32_t)i, fd) == napi_ok;
  }
  ok = ok && napi_set_named_property(env, result, "data", bytes) == napi_ok &&
       napi_set_named_property(env, result, "fds", fd_array) == napi_ok;
  free(buffer);
  if (!ok) {
    close_all(fds, count);
    napi_throw_error(env, "TRANSPORT", "cannot build the receiveWithFds result");
    return NULL;
  }
  return result;
}

static napi_value connect_unix(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!read_args(env, info, argv, 1)) return NULL;
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  size_t length;
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "path must be a string");
    return NULL;
  }
  if (length == 0) {
    napi_throw_range_error(env, "EINVAL", "socket path must not be empty");
    return NULL;
  }
  if (length >= sizeof address.sun_path) {
    char message[160];
    snprintf(message, sizeof message,
             "socket path is %zu bytes; a UNIX socket path holds at most %zu", length,
             sizeof address.sun_path - 1);
    napi_throw_range_error(env, "ENAMETOOLONG", message);
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], address.sun_path, sizeof address.sun_path, &length);
  if (strlen(address.sun_path) != length) {
    napi_throw_type_error(env, NULL, "socket path must not contain NUL");
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(env, "socket", errno);
  int r;
  do {
    r = connect(fd, (struct sockaddr*)&address, sizeof address);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    int err = errno;
    close(fd);
    char what[160];
    snprintf(what, sizeof what, "connect to %s", address.sun_path);
    return fail_errno(env, what, err);
  }
  napi_value result;
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    close(fd);
    return NULL;
  }
  return result;
}

static napi_value set_dumpable(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!read_args(env, info, argv, 1)) return NULL;
  bool on;
  if (napi_get_value_bool(env, argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, NULL, "on must be a boolean");
    return NULL;
  }
  if (prctl(PR_SET_DUMPABLE, on ? 1 : 0, 0, 0, 0) != 0) {
    return fail_errno(env, "prctl(PR_SET_DUMPABLE)", errno);
  }
  return NULL;
}

// 1 is SUID_DUMP_USER: /proc/<pid> belongs to the process's user. 0 and 2 (root only) are not.
static napi_value is_dumpable(napi_env env, napi_callback_info info) {
  int r = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  if (r < 0) return fail_errno(env, "prctl(PR_GET_DUMPABLE)", errno);
  napi_value result;
  napi_get_boolean(env, r == 1, &result);
  return result;
}

// One write(2) that never blocks, on a descriptor opened blocking: O_NONBLOCK is set for this
// write and put back. Returns the bytes written, or -1 where the write would have blocked. A
// read already blocked on the descriptor stays blocked; one starting meanwhile may see EAGAIN.
static napi_value write_nonblocking(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!read_args(env, info, argv, 2)) return NULL;
  int fd;
  if (!read_fd(env, argv[0], &fd)) return NULL;
  void* data;
  size_t length;
  bool is_typed = false;
  napi_is_typedarray(env, argv[1], &is_typed);
  napi_typedarray_type type;
  napi_value array_buffer;
  size_t offset;
  if (!is_typed || napi_get_typedarray_info(env, argv[1], &type, &length, &data, &array_buffer,
                                            &offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "data must be a Uint8Array");
    return NULL;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return fail_errno(env, "fcntl(F_GETFL)", errno);
  if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return fail_errno(env, "fcntl(F_SETFL)", errno);
  ssize_t written = write(fd, data, length);
  int err = errno;
  if (!(flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags);
  if (written < 0 && err != EAGAIN && err != EWOULDBLOCK) return fail_errno(env, "write", err);
  napi_value result;
  napi_create_double(env, written < 0 ? -1 : (double)written, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"createMemfd", NULL, create_memfd, NULL, NULL, NULL, napi_default, NULL},
      {"map", NULL, map, NULL, NULL, NULL, napi_default, NULL},
      {"memfdInfo", NULL, memfd_info, NULL, NULL, NULL, napi_default, NULL},
      {"sendWithFds", NULL, send_with_fds, NULL, NULL, NULL, napi_default, NULL},
      {"receiveWithFds", NULL, receive_with_fds, NULL, NULL, NULL, napi_default, NULL},
      {"connectUnix", NULL, connect_unix, NULL, NULL, NULL, napi_default, NULL},
      {"setDumpable", NULL, set_dumpable, NULL, NULL, NULL, napi_default, NULL},
      {"isDumpable", NULL, is_dumpable, NULL, NULL, NULL, napi_default, NULL},
      {"writeNonBlocking", NULL, write_nonblocking, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof *properties, properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
