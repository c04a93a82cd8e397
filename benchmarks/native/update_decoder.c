/*
 * Prototype: the common-case BGP UPDATE body decoder as a CPython extension.
 *
 * Benchmark material for issue 6 (docs/performance.md, "Native piece"); not part
 * of the installed package, which stays pure Python. It decodes what a plain
 * IPv4 unicast session sends (RFC 4271 §4.3): the withdrawn routes and NLRI
 * fields, ORIGIN, AS_PATH (2- or 4-octet AS, RFC 6793), NEXT_HOP,
 * MULTI_EXIT_DISC, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR and COMMUNITIES
 * (RFC 1997), into the very objects nexthop.bgp.wire.update.decode_update builds
 * (Update, PathAttributes, AsPathSegment, Prefix). Anything else -- a malformed
 * field, a duplicate or unknown attribute, MP_*, AS4_*, ADD-PATH, a missing
 * well-known attribute, LOCAL_PREF or confederation segments from an external
 * peer -- returns None, and the caller falls back to the Python decoder, which
 * owns all RFC 7606 error handling. Every read is bounds-checked.
 *
 * decode_update_body(body, four_octet_as, external=False, cache=None)
 *     -> Update | None
 *
 * ``cache`` is an optional dict owned by one session: attribute bytes (prefixed
 * by one octet of options) -> the PathAttributes decoded from them, so equal
 * attribute lists share one object, as the Python AttributeCache does.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

/* RFC 4271 §4.3 attribute flags and type codes (IANA "BGP Path Attributes"). */
#define FLAG_OPTIONAL 0x80
#define FLAG_TRANSITIVE 0x40
#define FLAG_EXTENDED_LENGTH 0x10
#define FLAGS_TYPE (FLAG_OPTIONAL | FLAG_TRANSITIVE)

enum {
    ATTR_ORIGIN = 1,
    ATTR_AS_PATH = 2,
    ATTR_NEXT_HOP = 3,
    ATTR_MULTI_EXIT_DISC = 4,
    ATTR_LOCAL_PREF = 5,
    ATTR_ATOMIC_AGGREGATE = 6,
    ATTR_AGGREGATOR = 7,
    ATTR_COMMUNITIES = 8,
    ATTR_HANDLED_MAX = 8,
};

/* Expected Optional/Transitive bits per handled type (RFC 4271 §5, RFC 1997). */
static const unsigned char EXPECTED_FLAGS[ATTR_HANDLED_MAX + 1] = {
    [ATTR_ORIGIN] = FLAG_TRANSITIVE,
    [ATTR_AS_PATH] = FLAG_TRANSITIVE,
    [ATTR_NEXT_HOP] = FLAG_TRANSITIVE,
    [ATTR_MULTI_EXIT_DISC] = FLAG_OPTIONAL,
    [ATTR_LOCAL_PREF] = FLAG_TRANSITIVE,
    [ATTR_ATOMIC_AGGREGATE] = FLAG_TRANSITIVE,
    [ATTR_AGGREGATOR] = FLAG_OPTIONAL | FLAG_TRANSITIVE,
    [ATTR_COMMUNITIES] = FLAG_OPTIONAL | FLAG_TRANSITIVE,
};

#define ORIGIN_INCOMPLETE 2
#define AS_SET 1
#define AS_CONFED_SET 4 /* segment types 1..4 (RFC 4271, RFC 5065) */
#define AS_CONFED_SEQUENCE 3
#define IPV4_BITS 32
#define CACHE_LIMIT (1 << 16) /* as AttributeCache's default */

/* The dataclass fields, in declaration order; checked against the class at import. */
static const char *const UPDATE_FIELDS[] = {
    "withdrawn", "withdrawn_path_ids", "attributes", "nlri", "nlri_path_ids",
    "mp_reach", "mp_unreach", "treat_as_withdraw", "discarded",
};
enum { U_WITHDRAWN, U_WITHDRAWN_IDS, U_ATTRIBUTES, U_NLRI, U_NLRI_IDS, U_MP_REACH,
       U_MP_UNREACH, U_TAW, U_DISCARDED, U_COUNT };

static const char *const ATTRS_FIELDS[] = {
    "origin", "as_path", "next_hop", "med", "local_pref", "atomic_aggregate",
    "aggregator", "communities", "extended_communities", "large_communities",
    "originator_id", "cluster_list", "unknown",
};
enum { A_ORIGIN, A_AS_PATH, A_NEXT_HOP, A_MED, A_LOCAL_PREF, A_ATOMIC, A_AGGREGATOR,
       A_COMMUNITIES, A_EXT_COMMUNITIES, A_LARGE_COMMUNITIES, A_ORIGINATOR_ID,
       A_CLUSTER_LIST, A_UNKNOWN, A_COUNT };

#define MAX_FIELDS 16
/* A frozen slotted dataclass: where each field's slot lives, its default, and
 * its name (for the "call the class" construction). */
typedef struct {
    PyTypeObject *type;
    Py_ssize_t count;
    Py_ssize_t offsets[MAX_FIELDS];
    PyObject *defaults[MAX_FIELDS];
    PyObject *kwnames; /* tuple of field names */
} Record;

static Record update_rec, attrs_rec;
static PyTypeObject *prefix_type, *segment_type;
static PyObject *afi_ipv4;       /* Afi.IPV4, the first item of every Prefix */
static PyObject *empty_tuple;
static int construct_by_call;    /* 0: write the slots; 1: call the class */
static int untrack_atomic = 1;   /* untrack Prefix/AsPathSegment/ASN tuples from the GC */

/* ---- building the Python objects ------------------------------------------ */

/* A 2- or 3-item NamedTuple (Prefix, AsPathSegment) without its constructor; steals
 * refs. One that holds only ints and int tuples cannot be part of a reference cycle,
 * so with ``untrack_atomic`` it leaves the cyclic GC's lists, as CPython does for
 * exact tuples of atomic values (_PyTuple_MaybeUntrack) but not for subclasses. */
static PyObject *
new_named_tuple(PyTypeObject *type, PyObject **items, Py_ssize_t n)
{
    PyObject *t = type->tp_alloc(type, n);
    if (t == NULL) {
        for (Py_ssize_t i = 0; i < n; i++) Py_XDECREF(items[i]);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) PyTuple_SET_ITEM(t, i, items[i]);
    if (untrack_atomic) PyObject_GC_UnTrack(t);
    return t;
}

/* The record with ``values`` (NULL entries take the field default); steals refs. */
static PyObject *
new_record(Record *rec, PyObject **values)
{
    PyObject *obj = NULL;
    for (Py_ssize_t i = 0; i < rec->count; i++) {
        if (values[i] == NULL) {
            values[i] = Py_NewRef(rec->defaults[i]);
        }
    }
    if (construct_by_call) {
        obj = PyObject_Vectorcall((PyObject *)rec->type, values, 0, rec->kwnames);
        for (Py_ssize_t i = 0; i < rec->count; i++) Py_DECREF(values[i]);
        return obj;
    }
    obj = rec->type->tp_alloc(rec->type, 0);
    if (obj == NULL) {
        for (Py_ssize_t i = 0; i < rec->count; i++) Py_DECREF(values[i]);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < rec->count; i++) {
        *(PyObject **)((char *)obj + rec->offsets[i]) = values[i];
    }
    return obj;
}

/* ---- field decoders: return a new reference, NULL with no exception set for
 * "not the common case" (fall back), NULL with an exception on a real error ---- */

static inline uint32_t
be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline unsigned
be16(const unsigned char *p)
{
    return ((unsigned)p[0] << 8) | p[1];
}

/* RFC 4271 §4.3 prefix list: length in bits, then the fewest octets; host bits cleared. */
static PyObject *
decode_prefixes(const unsigned char *p, Py_ssize_t len)
{
    Py_ssize_t count = 0, i = 0;
    if (len == 0) return Py_NewRef(empty_tuple);
    while (i < len) { /* first pass: validate and count */
        unsigned bits = p[i];
        if (bits > IPV4_BITS) return NULL;
        i += 1 + (bits + 7) / 8;
        count++;
    }
    if (i != len) return NULL; /* the last prefix overruns the field */
    PyObject *out = PyTuple_New(count);
    if (out == NULL) return NULL;
    i = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        unsigned bits = p[i++], octets = (bits + 7) / 8;
        uint32_t value = 0;
        for (unsigned o = 0; o < octets; o++) value |= (uint32_t)p[i + o] << (24 - 8 * o);
        i += octets;
        if (bits < IPV4_BITS) value &= bits ? ~((UINT32_C(1) << (IPV4_BITS - bits)) - 1) : 0;
        PyObject *items[3] = {Py_NewRef(afi_ipv4), PyLong_FromUnsignedLong(value),
                              PyLong_FromUnsignedLong(bits)};
        if (items[1] == NULL || items[2] == NULL) {
            for (int j = 0; j < 3; j++) Py_XDECREF(items[j]);
            Py_DECREF(out);
            return NULL;
        }
        PyObject *prefix = new_named_tuple(prefix_type, items, 3);
        if (prefix == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, k, prefix);
    }
    return out;
}

/* A tuple of ``count`` big-endian unsigned ints of ``size`` octets. */
static PyObject *
uint_tuple(const unsigned char *p, Py_ssize_t count, int size)
{
    PyObject *out = PyTuple_New(count);
    if (out == NULL) return NULL;
    for (Py_ssize_t k = 0; k < count; k++) {
        const unsigned char *q = p + k * size;
        PyObject *v = PyLong_FromUnsignedLong(size == 4 ? be32(q) : be16(q));
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, k, v);
    }
    if (untrack_atomic) PyObject_GC_UnTrack(out);
    return out;
}

/* AS_PATH segments (RFC 4271 §4.3, RFC 7606 §7.2 validity, RFC 5065 §5.3 confeds). */
static PyObject *
decode_as_path(const unsigned char *p, Py_ssize_t len, int size, int external)
{
    Py_ssize_t count = 0, i = 0;
    while (i < len) { /* first pass: validate and count segments */
        if (len - i < 2) return NULL;
        unsigned stype = p[i], n = p[i + 1];
        if (stype < AS_SET || stype > AS_CONFED_SET || n == 0) return NULL;
        if (external && (stype == AS_CONFED_SEQUENCE || stype == AS_CONFED_SET)) return NULL;
        if ((Py_ssize_t)(2 + n * size) > len - i) return NULL;
        i += 2 + (Py_ssize_t)n * size;
        count++;
    }
    PyObject *out = PyTuple_New(count);
    if (out == NULL) return NULL;
    i = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        unsigned n = p[i + 1];
        PyObject *items[2] = {PyLong_FromLong(p[i]), uint_tuple(p + i + 2, n, size)};
        if (items[0] == NULL || items[1] == NULL) {
            Py_XDECREF(items[0]);
            Py_XDECREF(items[1]);
            Py_DECREF(out);
            return NULL;
        }
        PyObject *segment = new_named_tuple(segment_type, items, 2);
        if (segment == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, k, segment);
        i += 2 + (Py_ssize_t)n * size;
    }
    return out;
}

/* One handled attribute's value; NULL without an exception means "fall back". */
static PyObject *
decode_value(int type, const unsigned char *v, Py_ssize_t len, int asn_size, int external)
{
    switch (type) {
    case ATTR_ORIGIN:
        if (len != 1 || v[0] > ORIGIN_INCOMPLETE) return NULL;
        return PyLong_FromLong(v[0]);
    case ATTR_AS_PATH:
        return decode_as_path(v, len, asn_size, external);
    case ATTR_LOCAL_PREF:
        if (external) return NULL; /* RFC 4271 §5.1.5: Python discards it and says so */
        /* fall through */
    case ATTR_NEXT_HOP:
    case ATTR_MULTI_EXIT_DISC:
        if (len != 4) return NULL;
        return PyLong_FromUnsignedLong(be32(v));
    case ATTR_ATOMIC_AGGREGATE:
        if (len != 0) return NULL;
        return Py_NewRef(Py_True);
    case ATTR_AGGREGATOR: {
        if (len != asn_size + 4) return NULL;
        PyObject *asn = PyLong_FromUnsignedLong(asn_size == 4 ? be32(v) : be16(v));
        PyObject *address = PyLong_FromUnsignedLong(be32(v + asn_size));
        if (asn == NULL || address == NULL) {
            Py_XDECREF(asn);
            Py_XDECREF(address);
            return NULL;
        }
        PyObject *pair = PyTuple_New(2);
        if (pair == NULL) {
            Py_DECREF(asn);
            Py_DECREF(address);
            return NULL;
        }
        PyTuple_SET_ITEM(pair, 0, asn);
        PyTuple_SET_ITEM(pair, 1, address);
        return pair;
    }
    case ATTR_COMMUNITIES:
        if (len == 0 || len % 4) return NULL;
        return uint_tuple(v, len / 4, 4);
    default:
        return NULL;
    }
}

/* Field index in PathAttributes for each handled type code. */
static const int ATTR_FIELD[ATTR_HANDLED_MAX + 1] = {
    [ATTR_ORIGIN] = A_ORIGIN, [ATTR_AS_PATH] = A_AS_PATH, [ATTR_NEXT_HOP] = A_NEXT_HOP,
    [ATTR_MULTI_EXIT_DISC] = A_MED, [ATTR_LOCAL_PREF] = A_LOCAL_PREF,
    [ATTR_ATOMIC_AGGREGATE] = A_ATOMIC, [ATTR_AGGREGATOR] = A_AGGREGATOR,
    [ATTR_COMMUNITIES] = A_COMMUNITIES,
};

/* The attribute list into a PathAttributes; sets *types to the bitmask of types seen. */
static PyObject *
decode_attributes(const unsigned char *p, Py_ssize_t len, int asn_size, int external,
                  unsigned *types)
{
    PyObject *values[A_COUNT] = {NULL};
    Py_ssize_t i = 0;
    *types = 0;
    while (i < len) {
        if (len - i < 3) goto fallback;
        unsigned flags = p[i], type = p[i + 1];
        Py_ssize_t vlen, head;
        if (flags & FLAG_EXTENDED_LENGTH) {
            if (len - i < 4) goto fallback;
            vlen = be16(p + i + 2);
            head = i + 4;
        } else {
            vlen = p[i + 2];
            head = i + 3;
        }
        if (vlen > len - head) goto fallback;
        if (type == 0 || type > ATTR_HANDLED_MAX || (*types & (1u << type))) goto fallback;
        if ((flags & FLAGS_TYPE) != EXPECTED_FLAGS[type]) goto fallback;
        *types |= 1u << type;
        PyObject *value = decode_value((int)type, p + head, vlen, asn_size, external);
        if (value == NULL) goto fallback;
        values[ATTR_FIELD[type]] = value;
        i = head + vlen;
    }
    return new_record(&attrs_rec, values);
fallback:
    for (int k = 0; k < A_COUNT; k++) Py_XDECREF(values[k]);
    return NULL;
}

/* ---- the entry point --------------------------------------------------------- */

#define NEEDED_WITH_NLRI ((1u << ATTR_ORIGIN) | (1u << ATTR_AS_PATH) | (1u << ATTR_NEXT_HOP))

static PyObject *
decode_update_body(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs < 2 || nargs > 4) {
        PyErr_SetString(PyExc_TypeError,
                        "decode_update_body(body, four_octet_as, external=False, cache=None)");
        return NULL;
    }
    if (!PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "body must be bytes");
        return NULL;
    }
    int asn4 = PyObject_IsTrue(args[1]);
    int external = nargs > 2 ? PyObject_IsTrue(args[2]) : 0;
    PyObject *cache = nargs > 3 && args[3] != Py_None ? args[3] : NULL;
    if (asn4 < 0 || external < 0) return NULL;
    if (cache != NULL && !PyDict_CheckExact(cache)) {
        PyErr_SetString(PyExc_TypeError, "cache must be a dict or None");
        return NULL;
    }
    const unsigned char *body = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t end = PyBytes_GET_SIZE(args[0]);

    /* RFC 4271 §4.3 layout; any overrun is Python's (it raises the right error). */
    if (end < 4) Py_RETURN_NONE;
    Py_ssize_t withdrawn_len = be16(body);
    if (4 + withdrawn_len > end) Py_RETURN_NONE;
    Py_ssize_t attr_start = 4 + withdrawn_len;
    Py_ssize_t attr_end = attr_start + be16(body + attr_start - 2);
    if (attr_end > end) Py_RETURN_NONE;

    PyObject *values[U_COUNT] = {NULL};
    PyObject *key = NULL;
    values[U_WITHDRAWN] = decode_prefixes(body + 2, withdrawn_len);
    if (values[U_WITHDRAWN] == NULL) goto fallback;
    values[U_NLRI] = decode_prefixes(body + attr_end, end - attr_end);
    if (values[U_NLRI] == NULL) goto fallback;
    if (attr_end > attr_start) {
        PyObject *attributes = NULL;
        if (cache != NULL) {
            Py_ssize_t n = attr_end - attr_start;
            key = PyBytes_FromStringAndSize(NULL, n + 1);
            if (key == NULL) goto fallback;
            char *k = PyBytes_AS_STRING(key);
            k[0] = (char)(asn4 | (external << 1));
            memcpy(k + 1, body + attr_start, (size_t)n);
            attributes = PyDict_GetItemWithError(cache, key); /* borrowed */
            if (attributes == NULL && PyErr_Occurred()) goto fallback;
            Py_XINCREF(attributes);
        }
        if (attributes == NULL) {
            unsigned types;
            attributes = decode_attributes(body + attr_start, attr_end - attr_start,
                                           asn4 ? 4 : 2, external, &types);
            if (attributes == NULL) goto fallback;
            /* RFC 7606 §3(d): a missing well-known attribute is Python's to report. */
            if (PyTuple_GET_SIZE(values[U_NLRI]) && (types & NEEDED_WITH_NLRI) != NEEDED_WITH_NLRI) {
                Py_DECREF(attributes);
                goto fallback;
            }
            if (key != NULL) {
                if (PyDict_GET_SIZE(cache) >= CACHE_LIMIT) PyDict_Clear(cache);
                if (PyDict_SetItem(cache, key, attributes) < 0) {
                    Py_DECREF(attributes);
                    goto fallback;
                }
            }
        }
        values[U_ATTRIBUTES] = attributes;
    } else if (PyTuple_GET_SIZE(values[U_NLRI])) {
        goto fallback; /* NLRI without attributes: treat-as-withdraw, in Python */
    }
    Py_XDECREF(key);
    return new_record(&update_rec, values);
fallback:
    Py_XDECREF(key);
    for (int k = 0; k < U_COUNT; k++) Py_XDECREF(values[k]);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

static PyObject *
set_construction(PyObject *module, PyObject *arg)
{
    (void)module;
    int by_call = PyObject_IsTrue(arg);
    if (by_call < 0) return NULL;
    construct_by_call = by_call;
    Py_RETURN_NONE;
}

static PyObject *
set_untrack_atomic(PyObject *module, PyObject *arg)
{
    (void)module;
    int untrack = PyObject_IsTrue(arg);
    if (untrack < 0) return NULL;
    untrack_atomic = untrack;
    Py_RETURN_NONE;
}

/* ---- module init: find the classes, their slot offsets and field defaults ---- */

static int
load_record(Record *rec, PyObject *module, const char *name, const char *const *fields,
            Py_ssize_t count)
{
    PyObject *dataclasses = NULL, *field_list = NULL, *cls = PyObject_GetAttrString(module, name);
    int ok = -1;
    if (cls == NULL) return -1;
    if (!PyType_Check(cls) || PyObject_HasAttrString(cls, "__post_init__")) goto changed;
    dataclasses = PyImport_ImportModule("dataclasses");
    if (dataclasses == NULL) goto done;
    field_list = PyObject_CallMethod(dataclasses, "fields", "O", cls);
    if (field_list == NULL) goto done;
    if (PyTuple_GET_SIZE(field_list) != count || count > MAX_FIELDS) goto changed;
    rec->type = (PyTypeObject *)cls;
    rec->count = count;
    rec->kwnames = PyTuple_New(count);
    if (rec->kwnames == NULL) goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *field = PyTuple_GET_ITEM(field_list, i);
        PyObject *fname = PyObject_GetAttrString(field, "name");
        if (fname == NULL) goto done;
        int same = PyUnicode_CompareWithASCIIString(fname, fields[i]) == 0;
        PyTuple_SET_ITEM(rec->kwnames, i, fname);
        if (!same) goto changed;
        PyObject *descr = PyDict_GetItemWithError(rec->type->tp_dict, fname);
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) goto changed;
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX) goto changed;
        rec->offsets[i] = member->offset;
        rec->defaults[i] = PyObject_GetAttrString(field, "default");
        if (rec->defaults[i] == NULL) goto done;
    }
    ok = 0;
    goto done;
changed:
    PyErr_Format(PyExc_TypeError, "%s changed: update the native decoder", name);
done:
    if (ok < 0) Py_DECREF(cls);
    Py_XDECREF(dataclasses);
    Py_XDECREF(field_list);
    return ok;
}

static PyTypeObject *
load_named_tuple(PyObject *module, const char *name)
{
    PyObject *cls = PyObject_GetAttrString(module, name);
    if (cls == NULL) return NULL;
    PyTypeObject *type = (PyTypeObject *)cls;
    if (!PyType_Check(cls) || !PyType_IsSubtype(type, &PyTuple_Type) ||
        type->tp_basicsize != PyTuple_Type.tp_basicsize || type->tp_dictoffset != 0) {
        PyErr_Format(PyExc_TypeError, "%s is not a plain NamedTuple any more", name);
        Py_DECREF(cls);
        return NULL;
    }
    return type;
}

static PyMethodDef methods[] = {
    {"decode_update_body", (PyCFunction)(void (*)(void))decode_update_body, METH_FASTCALL,
     "decode_update_body(body, four_octet_as, external=False, cache=None) -> Update | None"},
    {"set_construction", set_construction, METH_O,
     "set_construction(by_call): True builds records by calling the classes, "
     "False (default) by writing their slots"},
    {"set_untrack_atomic", set_untrack_atomic, METH_O,
     "set_untrack_atomic(untrack): True (default) keeps Prefix, AsPathSegment and "
     "ASN tuples out of the cyclic GC"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "update_decoder",
    .m_doc = "Common-case UPDATE body decoder (benchmark prototype; see update_decoder.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit_update_decoder(void)
{
    PyObject *messages = PyImport_ImportModule("nexthop.bgp.wire.messages");
    PyObject *prefix_mod = PyImport_ImportModule("nexthop.net.prefix");
    PyObject *afi = NULL, *module = NULL;
    if (messages == NULL || prefix_mod == NULL) goto done;
    if (load_record(&update_rec, messages, "Update", UPDATE_FIELDS, U_COUNT) < 0) goto done;
    if (load_record(&attrs_rec, messages, "PathAttributes", ATTRS_FIELDS, A_COUNT) < 0) goto done;
    segment_type = load_named_tuple(messages, "AsPathSegment");
    prefix_type = load_named_tuple(prefix_mod, "Prefix");
    if (segment_type == NULL || prefix_type == NULL) goto done;
    afi = PyObject_GetAttrString(prefix_mod, "Afi");
    if (afi == NULL) goto done;
    afi_ipv4 = PyObject_GetAttrString(afi, "IPV4");
    empty_tuple = PyTuple_New(0);
    if (afi_ipv4 == NULL || empty_tuple == NULL) goto done;
    module = PyModule_Create(&moduledef);
done:
    Py_XDECREF(afi);
    Py_XDECREF(messages);
    Py_XDECREF(prefix_mod);
    return module;
}
