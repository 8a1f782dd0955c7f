// vrdma_memory: the little native code the process transport needs, in plain Node-API.
//
//   createMemfd(name, size) -> fd   anonymous shared memory, sealed against resizing so a
//                                   guest can never shrink it under the host (SIGBUS)
//   map(fd, size) -> ArrayBuffer    a MAP_SHARED mapping; unmapped when the buffer is collected
//
// Files are opened and closed from JavaScript (fs); only mmap and memfd need C.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SIZE ((size_t)1 << 31)

static napi_value fail(napi_env env, const char* what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, "TRANSPORT", message);
  return NULL;
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
  napi_value argv[2];
  if (!read_args(env, info, argv, 2)) return NULL;
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a file descriptor");
    return NULL;
  }
  size_t size;
  if (!read_size(env, argv[1], &size)) return NULL;
  // Mapping past the end of the file would fault on first touch: refuse it here instead.
  struct stat st;
  if (fstat(fd, &st) != 0) return fail(env, "fstat", errno);
  if ((size_t)st.st_size < size) {
    napi_throw_range_error(env, "OUT_OF_RANGE", "the file is smaller than the mapping asked for");
    return NULL;
  }
  void* data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) return fail(env, "mmap", errno);
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, data, size, unmap, (void*)size, &buffer) != napi_ok) {
    munmap(data, size);
    napi_throw_error(env, "TRANSPORT", "cannot wrap the mapping in an ArrayBuffer");
    return NULL;
  }
  return buffer;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"createMemfd", NULL, create_memfd, NULL, NULL, NULL, napi_default, NULL},
      {"map", NULL, map, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof *properties, properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
