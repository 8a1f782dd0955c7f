// vrdma_libfabric: the thin Node-API layer over libfabric that engine-libfabric drives.
// It holds no policy: keys, channels, ordering and node liveness live in TypeScript.
//
//   open(provider, options) -> { endpoint, name, waitFd }   fabric, domain, RDM endpoint, AV, CQ
//   close(endpoint)                                         everything above, and every MR
//   insertAddress(endpoint, name) -> fiAddr                 fi_av_insert of a peer's fi_getname
//   forgetAddress(endpoint, fiAddr)                         a peer went away: its shm file goes
//                                                           (no fi_av_remove: see node.ts)
//   register(endpoint, bytes, access, key) -> mr            fi_mr_reg with the key we chose
//   deregister(endpoint, mr)                                fi_close of that MR (a revoke)
//   post(endpoint, isRead, local, fiAddr, remote, key, id) -> 0 | -FI_EAGAIN
//   drain(endpoint) -> [id, errno, id, errno, ...]          fi_cq_read, fi_cq_readerr
//   watch(endpoint, onReadable)                             uv_poll on the CQ's wait fd
//   trywait(endpoint) -> boolean                            fi_trywait: may the loop sleep now?
//
// An idle engine sleeps in libuv on the CQ's wait fd: no timer and no spinning. Over shm, a
// guard (shm_guard.h) keeps a peer that died holding a lock from wedging this thread.
#include <errno.h>
#include <node_api.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "shm_guard.h"

#define MAX_NAME 256
#define DRAIN_BATCH 64

// One posted operation: libfabric may use the context (FI_CONTEXT2) until it completes.
typedef struct op {
  struct fi_context2 context;
  uint32_t id;
  int next_free;
} op_t;

typedef struct endpoint {
  struct fi_info* info;
  struct fid_fabric* fabric;
  struct fid_domain* domain;
  struct fid_ep* ep;
  struct fid_av* av;
  struct fid_cq* cq;
  int wait_fd;
  uv_poll_t* poll;
  napi_env env;
  napi_ref on_readable;
  op_t* ops;
  int op_count;
  int first_free;
  int closed;
  shm_guard_t* guard;
} endpoint_t;

static napi_value fail_fi(napi_env env, const char* what, int ret) {
  char message[256];
  char code[32];
  int err = ret < 0 ? -ret : ret;
  snprintf(message, sizeof message, "%s: %s (%d)", what, fi_strerror(err), err);
  snprintf(code, sizeof code, "FI_%d", err);
  napi_throw_error(env, code, message);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, napi_value* argv, size_t want) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "missing arguments");
    return 0;
  }
  return 1;
}

static endpoint_t* get_endpoint(napi_env env, napi_value value) {
  void* data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "not an endpoint");
    return NULL;
  }
  endpoint_t* e = data;
  if (e->closed) {
    napi_throw_error(env, "CLOSED", "the endpoint is closed");
    return NULL;
  }
  return e;
}

static int get_bytes(napi_env env, napi_value value, void** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "expected a Uint8Array");
    return 0;
  }
  return 1;
}

static int get_string(napi_env env, napi_value value, char* out, size_t size) {
  size_t len;
  if (napi_get_value_string_utf8(env, value, out, size, &len) != napi_ok || len + 1 >= size) {
    napi_throw_type_error(env, NULL, "expected a short string");
    return 0;
  }
  return 1;
}

static int get_u64(napi_env env, napi_value value, uint64_t* out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok || d < 0 || d > 9007199254740991.0) {
    napi_throw_range_error(env, NULL, "expected a non-negative safe integer");
    return 0;
  }
  *out = (uint64_t)d;
  return 1;
}

static void close_fid(struct fid* fid) {
  if (fid) fi_close(fid);
}

static void release_endpoint(endpoint_t* e) {
  if (e->closed) return;
  e->closed = 1;
  shm_guard_stop(e->guard);
  e->guard = NULL;
  close_fid(e->ep ? &e->ep->fid : NULL);
  close_fid(e->av ? &e->av->fid : NULL);
  close_fid(e->cq ? &e->cq->fid : NULL);
  close_fid(e->domain ? &e->domain->fid : NULL);
  close_fid(e->fabric ? &e->fabric->fid : NULL);
  if (e->info) fi_freeinfo(e->info);
  free(e->ops);
  e->ops = NULL;
}

static void on_poll_closed(uv_handle_t* handle) { free(handle); }

static void stop_watch(endpoint_t* e) {
  if (e->poll) {
    uv_poll_stop(e->poll);
    uv_close((uv_handle_t*)e->poll, on_poll_closed);
    e->poll = NULL;
  }
  if (e->on_readable) {
    napi_delete_reference(e->env, e->on_readable);
    e->on_readable = NULL;
  }
}

static void finalize_endpoint(napi_env env, void* data, void* hint) {
  endpoint_t* e = data;
  stop_watch(e);
  release_endpoint(e);
  free(e);
}

static int grow_ops(endpoint_t* e) {
  int count = e->op_count ? e->op_count * 2 : 1024;
  op_t* ops = realloc(e->ops, sizeof(op_t) * (size_t)count);
  if (!ops) return 0;
  // Contexts already handed to libfabric must not move: growth happens only when all are free.
  for (int i = e->op_count; i < count; i++) ops[i].next_free = i + 1 < count ? i + 1 : -1;
  e->first_free = e->op_count;
  e->ops = ops;
  e->op_count = count;
  return 1;
}

static napi_value open_endpoint(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, argv, 1)) return NULL;
  char provider[64];
  if (!get_string(env, argv[0], provider, sizeof provider)) return NULL;

  struct fi_info* hints = fi_allocinfo();
  if (!hints) return fail_fi(env, "fi_allocinfo", FI_ENOMEM);
  hints->caps = FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
  hints->ep_attr->type = FI_EP_RDM;
  hints->mode = FI_CONTEXT | FI_CONTEXT2;
  // Keys are ours (no FI_MR_PROV_KEY) and remote addresses are offsets into a registration
  // (no FI_MR_VIRT_ADDR): a peer never learns a virtual address of this process.
  hints->domain_attr->mr_mode = 0;
  hints->domain_attr->threading = FI_THREAD_DOMAIN;
  // A write completes once the peer placed it, so a refused key or range comes back as an error.
  hints->tx_attr->op_flags = FI_DELIVERY_COMPLETE;
  hints->fabric_attr->prov_name = strdup(provider);
  struct fi_info* found = NULL;
  int ret = fi_getinfo(FI_VERSION(1, 9), NULL, NULL, 0, hints, &found);
  fi_freeinfo(hints);
  if (ret) return fail_fi(env, "fi_getinfo", ret);

  endpoint_t* e = calloc(1, sizeof *e);
  if (!e) {
    fi_freeinfo(found);
    return fail_fi(env, "calloc", FI_ENOMEM);
  }
  e->info = fi_dupinfo(found);
  fi_freeinfo(found);
  e->wait_fd = -1;
  e->env = env;
  const char* step = "fi_fabric";
  ret = fi_fabric(e->info->fabric_attr, &e->fabric, NULL);
  if (!ret) {
    step = "fi_domain";
    ret = fi_domain(e->fabric, e->info, &e->domain, NULL);
  }
  if (!ret) {
    step = "fi_cq_open";
    struct fi_cq_attr cq_attr = {.format = FI_CQ_FORMAT_CONTEXT, .wait_obj = FI_WAIT_FD};
    ret = fi_cq_open(e->domain, &cq_attr, &e->cq, NULL);
    if (ret == -FI_ENOSYS) {
      // A provider without wait fds (shm in 1.17): the script polls it instead, waitFd -1.
      cq_attr.wait_obj = FI_WAIT_NONE;
      ret = fi_cq_open(e->domain, &cq_attr, &e->cq, NULL);
    } else if (!ret) {
      step = "fi_control(FI_GETWAIT)";
      ret = fi_control(&e->cq->fid, FI_GETWAIT, &e->wait_fd);
    }
  }
  if (!ret) {
    step = "fi_av_open";
    struct fi_av_attr av_attr = {.type = FI_AV_TABLE};
    ret = fi_av_open(e->domain, &av_attr, &e->av, NULL);
  }
  if (!ret) {
    step = "fi_endpoint";
    ret = fi_endpoint(e->domain, e->info, &e->ep, NULL);
  }
  if (!ret) {
    step = "fi_ep_bind(cq)";
    ret = fi_ep_bind(e->ep, &e->cq->fid, FI_TRANSMIT | FI_RECV);
  }
  if (!ret) {
    step = "fi_ep_bind(av)";
    ret = fi_ep_bind(e->ep, &e->av->fid, 0);
  }
  if (!ret) {
    step = "fi_enable";
    ret = fi_enable(e->ep);
  }
  char name[MAX_NAME];
  size_t name_len = sizeof name;
  if (!ret) {
    step = "fi_getname";
    ret = fi_getname(&e->ep->fid, name, &name_len);
  }
  if (!ret && !grow_ops(e)) {
    step = "ops";
    ret = -FI_ENOMEM;
  }
  if (ret) {
    release_endpoint(e);
    free(e);
    return fail_fi(env, step, ret);
  }
  e->guard = shm_guard_start(e->info->fabric_attr->prov_name, name);

  napi_value result, external, name_value, fd_value, prov_value, domain_value;
  void* name_data;
  napi_create_object(env, &result);
  napi_create_external(env, e, finalize_endpoint, NULL, &external);
  napi_create_buffer_copy(env, name_len, name, &name_data, &name_value);
  napi_create_int32(env, e->wait_fd, &fd_value);
  napi_create_string_utf8(env, e->info->fabric_attr->prov_name, NAPI_AUTO_LENGTH, &prov_value);
  napi_create_string_utf8(env, e->info->domain_attr->name, NAPI_AUTO_LENGTH, &domain_value);
  napi_set_named_property(env, result, "endpoint", external);
  napi_set_named_property(env, result, "name", name_value);
  napi_set_named_property(env, result, "waitFd", fd_value);
  napi_set_named_property(env, result, "provider", prov_value);
  napi_set_named_property(env, result, "domain", domain_value);
  napi_value max_msg;
  napi_create_double(env, (double)e->info->ep_attr->max_msg_size, &max_msg);
  napi_set_named_property(env, result, "maxMessage", max_msg);
  return result;
}

static napi_value close_endpoint(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, argv, 1)) return NULL;
  void* data = NULL;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || !data) return NULL;
  endpoint_t* e = data;
  stop_watch(e);
  release_endpoint(e);
  return NULL;
}

static napi_value insert_address(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, argv, 2)) return NULL;
  endpoint_t* e = get_endpoint(env, argv[0]);
  if (!e) return NULL;
  void* name;
  size_t len;
  bool is_buffer = false;
  napi_is_buffer(env, argv[1], &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, argv[1], &name, &len) != napi_ok || len == 0 ||
      len > MAX_NAME) {
    napi_throw_type_error(env, NULL, "expected an endpoint name (a Buffer)");
    return NULL;
  }
  fi_addr_t addr = FI_ADDR_UNSPEC;
  int ret = fi_av_insert(e->av, name, 1, &addr, 0, NULL);
  if (ret != 1) return fail_fi(env, "fi_av_insert", ret < 0 ? ret : -FI_EINVAL);
  char text[MAX_NAME + 1];
  memcpy(text, name, len);
  text[len] = '\0';
  shm_guard_add_peer(e->guard, addr, text);
  napi_value result;
  napi_create_double(env, (double)addr, &result);
  return result;
}

static napi_value forget_address(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, argv, 2)) return NULL;
  endpoint_t* e = get_endpoint(env, argv[0]);
  uint64_t addr;
  if (!e || !get_u64(env, argv[1], &addr)) return NULL;
  shm_guard_forget_peer(e->guard, addr);
  return NULL;
}

static void finalize_mr(napi_env env, void* data, void* hint) {
  // A registration the script dropped without deregistering: close it with its last reference.
  struct fid_mr** slot = data;
  if (*slot) fi_close(&(*slot)->fid);
  free(slot);
}

static napi_value register_memory(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, argv, 4)) return NULL;
  endpoint_t* e = get_endpoint(env, argv[0]);
  void* data;
  size_t length;
  uint32_t access_bits;
  uint64_t key;
  if (!e || !get_bytes(env, argv[1], &data, &length)) return NULL;
  if (napi_get_value_uint32(env, argv[2], &access_bits) != napi_ok) {
    napi_throw_type_error(env, NULL, "access must be an unsigned integer");
    return NULL;
  }
  if (!get_u64(env, argv[3], &key)) return NULL;
  uint64_t access = 0;
  if (access_bits & 1) access |= FI_REMOTE_READ;
  if (access_bits & 2) access |= FI_REMOTE_WRITE;
  struct fid_mr** slot = calloc(1, sizeof *slot);
  if (!slot) return fail_fi(env, "calloc", FI_ENOMEM);
  int ret = fi_mr_reg(e->domain, data, length, access, 0, key, 0, slot, NULL);
  if (ret) {
    free(slot);
    return fail_fi(env, "fi_mr_reg", ret);
  }
  napi_value result;
  napi_create_external(env, slot, finalize_mr, NULL, &result);
  return result;
}

static napi_value deregister_memory(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, argv, 1)) return NULL;
  void* data = NULL;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "not a registration");
    return NULL;
  }
  struct fid_mr** slot = data;
  if (*slot) {
    int ret = fi_close(&(*slot)->fid);
    *slot = NULL;
    if (ret) return fail_fi(env, "fi_close(mr)", ret);
  }
  return NULL;
}

static napi_value post(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!get_args(env, info, argv, 7)) return NULL;
  endpoint_t* e = get_endpoint(env, argv[0]);
  bool is_read;
  void* local;
  size_t length;
  uint64_t addr, remote, key;
  uint32_t id;
  if (!e || napi_get_value_bool(env, argv[1], &is_read) != napi_ok ||
      !get_bytes(env, argv[2], &local, &length) || !get_u64(env, argv[3], &addr) ||
      !get_u64(env, argv[4], &remote) || !get_u64(env, argv[5], &key) ||
      napi_get_value_uint32(env, argv[6], &id) != napi_ok) {
    if (!e) return NULL;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_type_error(env, NULL, "post: bad arguments");
    return NULL;
  }
  if (e->first_free < 0) {
    napi_value again;
    napi_create_int32(env, -FI_EAGAIN, &again);
    return again;
  }
  int slot = e->first_free;
  op_t* op = &e->ops[slot];
  op->id = id;
  shm_guard_enter(e->guard, (int64_t)addr);
  ssize_t ret = is_read ? fi_read(e->ep, local, length, NULL, addr, remote, key, &op->context)
                        : fi_write(e->ep, local, length, NULL, addr, remote, key, &op->context);
  shm_guard_leave(e->guard);
  if (ret == 0) {
    e->first_free = op->next_free;
    op->next_free = -2;
  } else if (ret != -FI_EAGAIN) {
    return fail_fi(env, is_read ? "fi_read" : "fi_write", (int)ret);
  }
  napi_value result;
  napi_create_int32(env, (int)ret, &result);
  return result;
}

static void free_op(endpoint_t* e, op_t* op) {
  int index = (int)(op - e->ops);
  op->next_free = e->first_free;
  e->first_free = index;
}

static napi_value drain(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, argv, 1)) return NULL;
  endpoint_t* e = get_endpoint(env, argv[0]);
  if (!e) return NULL;
  napi_value list;
  napi_create_array(env, &list);
  uint32_t n = 0;
  struct fi_cq_entry entries[DRAIN_BATCH];
  for (int round = 0; round < 16; round++) {
    shm_guard_enter(e->guard, SHM_GUARD_OWN);
    ssize_t got = fi_cq_read(e->cq, entries, DRAIN_BATCH);
    shm_guard_leave(e->guard);
    if (got == -FI_EAVAIL) {
      struct fi_cq_err_entry err = {0};
      shm_guard_enter(e->guard, SHM_GUARD_OWN);
      ssize_t got_error = fi_cq_readerr(e->cq, &err, 0);
      shm_guard_leave(e->guard);
      if (got_error == 1 && err.op_context) {
        op_t* op = (op_t*)err.op_context;
        napi_value id, code;
        napi_create_uint32(env, op->id, &id);
        napi_create_int32(env, err.err ? err.err : FI_EOTHER, &code);
        napi_set_element(env, list, n++, id);
        napi_set_element(env, list, n++, code);
        free_op(e, op);
      }
      continue;
    }
    if (got <= 0) break;
    for (ssize_t i = 0; i < got; i++) {
      op_t* op = (op_t*)entries[i].op_context;
      if (!op) continue;
      napi_value id, code;
      napi_create_uint32(env, op->id, &id);
      napi_create_int32(env, 0, &code);
      napi_set_element(env, list, n++, id);
      napi_set_element(env, list, n++, code);
      free_op(e, op);
    }
    if (got < DRAIN_BATCH) break;
  }
  // Grow the op pool only when nothing is in flight, so no context libfabric holds moves.
  if (e->first_free < 0) {
    int busy = 0;
    for (int i = 0; i < e->op_count; i++) busy += e->ops[i].next_free == -2;
    if (busy == 0) grow_ops(e);
  }
  return list;
}

static napi_value trywait(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, argv, 1)) return NULL;
  endpoint_t* e = get_endpoint(env, argv[0]);
  if (!e) return NULL;
  if (e->wait_fd < 0) {
    napi_value no;
    napi_get_boolean(env, false, &no);
    return no;
  }
  struct fid* fids[1] = {&e->cq->fid};
  int ret = fi_trywait(e->fabric, fids, 1);
  napi_value result;
  napi_get_boolean(env, ret == FI_SUCCESS, &result);
  return result;
}

static void on_readable(uv_poll_t* handle, int status, int events) {
  endpoint_t* e = handle->data;
  if (!e || !e->on_readable) return;
  napi_handle_scope scope;
  napi_open_handle_scope(e->env, &scope);
  napi_value callback, global, resource_name;
  napi_get_reference_value(e->env, e->on_readable, &callback);
  napi_get_global(e->env, &global);
  napi_async_context context;
  napi_create_string_utf8(e->env, "vrdma_libfabric.cq", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(e->env, NULL, resource_name, &context);
  napi_make_callback(e->env, context, global, callback, 0, NULL, NULL);
  napi_async_destroy(e->env, context);
  napi_close_handle_scope(e->env, scope);
}

static napi_value watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, argv, 2)) return NULL;
  endpoint_t* e = get_endpoint(env, argv[0]);
  if (!e) return NULL;
  if (e->wait_fd < 0) {
    napi_throw_error(env, "NO_WAIT_FD", "this provider's completion queue has no wait fd");
    return NULL;
  }
  stop_watch(e);
  napi_create_reference(env, argv[1], 1, &e->on_readable);
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  e->poll = malloc(sizeof *e->poll);
  if (!e->poll || uv_poll_init(loop, e->poll, e->wait_fd) != 0) {
    free(e->poll);
    e->poll = NULL;
    return fail_fi(env, "uv_poll_init", FI_EINVAL);
  }
  e->poll->data = e;
  uv_poll_start(e->poll, UV_READABLE, on_readable);
  return NULL;
}

static napi_value unref_watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, argv, 2)) return NULL;
  endpoint_t* e = get_endpoint(env, argv[0]);
  bool ref;
  if (!e || napi_get_value_bool(env, argv[1], &ref) != napi_ok || !e->poll) return NULL;
  if (ref)
    uv_ref((uv_handle_t*)e->poll);
  else
    uv_unref((uv_handle_t*)e->poll);
  return NULL;
}

static napi_value version(napi_env env, napi_callback_info info) {
  uint32_t v = fi_version();
  char text[32];
  snprintf(text, sizeof text, "%u.%u", FI_MAJOR(v), FI_MINOR(v));
  napi_value result;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, open_endpoint, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_endpoint, NULL, NULL, NULL, napi_default, NULL},
      {"insertAddress", NULL, insert_address, NULL, NULL, NULL, napi_default, NULL},
      {"forgetAddress", NULL, forget_address, NULL, NULL, NULL, napi_default, NULL},
      {"register", NULL, register_memory, NULL, NULL, NULL, napi_default, NULL},
      {"deregister", NULL, deregister_memory, NULL, NULL, NULL, napi_default, NULL},
      {"post", NULL, post, NULL, NULL, NULL, napi_default, NULL},
      {"drain", NULL, drain, NULL, NULL, NULL, napi_default, NULL},
      {"trywait", NULL, trywait, NULL, NULL, NULL, napi_default, NULL},
      {"watch", NULL, watch, NULL, NULL, NULL, napi_default, NULL},
      {"refWatch", NULL, unref_watch, NULL, NULL, NULL, napi_default, NULL},
      {"version", NULL, version, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
